import { behaviourSuite } from './behaviour.js';
import { classicStore } from './helpers.js';

behaviourSuite(classicStore);
