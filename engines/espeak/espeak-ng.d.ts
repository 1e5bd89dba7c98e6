declare module "espeak-ng" {
  const factory: (options: object) => Promise<unknown>;
  export default factory;
}
