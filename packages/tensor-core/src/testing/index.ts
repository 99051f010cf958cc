export { prepareBackends, testBackends, type TestBackends } from './backends.js';
export { describeBackends, type DescribeBackendsOptions } from './describe-backends.js';
export { expectAllClose, expectNoLeaks, type CloseOptions, type Numeric } from './expect.js';
export { badInput, itRejects, type BadInputCase, type ErasedBadInputCase, type ErrorClass } from './bad-input.js';
export { type RecordedProgram, recordPrograms } from './record-programs.js';
