export { CHECK_STEPS, STEP_DESCRIPTIONS, failedStep } from './check-result.js';
export type { CheckStep, CheckStepName, KubeletCheck, KubeletCertificateSummary, NodeCheckResult, StepError } from './check-result.js';
export { checkNode, type KubeletCheckOptions, type NodeCheckOptions } from './check-node.js';
export { checkNodes, type CheckNodesOptions, type CheckProgress } from './check-nodes.js';
export { prepareCheck, type CheckSetupOptions } from './check-setup.js';
export { describeFailure, stepOfFailure, type FailureContext } from './plain-words.js';
