/** Python environments for plugins and tools (see docs/plugins.md#python-plugins). */
export { envDir, envsRoot, envStatus, readRecord, venvPython, writeRecord, type EnvRecord, type EnvSpec, type EnvStatus } from "./environment.ts";
export { formatPlan, makePlan, type SetupOptions, type SetupPlan } from "./plan.ts";
export { isTorchChoice, TORCH_CHOICES, TORCH_FLAG, type TorchChoice } from "./torch-choice.ts";
export { ensureEnvironment, failureReason, runSetup, SetupError, type Progress } from "./setup.ts";
export { chooseInterpreter, findInterpreters, InterpreterError, type Interpreter } from "./interpreters.ts";
export {
  engineCommand,
  isPythonPlugin,
  needsSetup,
  NeedsSetupError,
  pluginEnvSpec,
  pythonFor,
  pythonLaunch,
  PYTHON_SDK_DIR,
  setupCommand,
  type Launch,
  type NeedsSetup,
} from "./plugin-env.ts";
export { ManagedPython, type ToolEnvironmentSpec } from "./managed.ts";
export { probeModules, profileOffered, requiredModules } from "./modules.ts";
