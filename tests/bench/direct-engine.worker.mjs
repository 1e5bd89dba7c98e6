// Entry of the host bench's engine thread (direct-engine.ts): TypeScript through tsx, as the bench runs.
import { register } from "tsx/esm/api";

register();
await import("./direct-engine.ts");
