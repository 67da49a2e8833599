// run by router.test.ts as a child process: matches one tag (TDF_MATCH_TAG) against one pattern (TDF_MATCH_PATTERN)
// and prints true or false, so a match that never ends can be killed without blocking the test. does nothing when
// loaded without them (the test runner may load every file under test/).
import { compilePattern } from '../../src/router/pattern.js';

const pattern = process.env.TDF_MATCH_PATTERN;
const tag = process.env.TDF_MATCH_TAG;
if (pattern !== undefined && tag !== undefined) process.stdout.write(String(compilePattern(pattern)(tag)));
