/** `meridian simulate` (issue 6): placeholder until the simulator lands. */
export interface SimulateOptions {
  configFile: string;
  clients?: string;
  generate?: number;
  compare?: string;
  map?: string;
  name?: string;
  json: boolean;
}
export function simulateCommand(_opts: SimulateOptions): number {
  process.stderr.write('meridian simulate: not available in this build\n');
  return 2;
}
