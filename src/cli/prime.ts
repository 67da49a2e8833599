// imported first by the cli's entry point, before any other module loads: v8 heap growth as runtime.ts explains
import { primeHeapGrowingPercent } from '../runtime.js';

primeHeapGrowingPercent();
