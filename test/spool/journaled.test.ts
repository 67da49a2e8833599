import { behaviourSuite } from './behaviour.js';
import { journaledStore } from './helpers.js';

behaviourSuite(journaledStore);
