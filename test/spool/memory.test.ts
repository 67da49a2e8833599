import { behaviourSuite } from './behaviour.js';
import { memoryStore } from './helpers.js';

behaviourSuite(memoryStore);
