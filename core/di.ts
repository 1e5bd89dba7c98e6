/** tsyringe, with the Reflect polyfill it needs loaded first. Services import DI from here. */
import "reflect-metadata";
export { container, inject, injectable, type DependencyContainer } from "tsyringe";
