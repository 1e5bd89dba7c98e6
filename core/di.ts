/**
 * tsyringe, the host's container, used with explicit registrations and factories only: no
 * decorators, so the host runs under any TypeScript loader without a special tsconfig (the
 * `chorus` CLI from any folder, engine workers, child processes). tsyringe insists on the
 * Reflect metadata polyfill being loaded before it, hence the first import.
 */
import "reflect-metadata";
export { container, instanceCachingFactory, type DependencyContainer } from "tsyringe";
