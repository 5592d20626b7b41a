/**
 * The runtimes the handler benchmarks query: the shipped config, and a small
 * pair of zones with a DNAME (the shipped config has none).
 */
import { parseConfigText } from '../src/build/config/load.js';
import { Runtime } from '../src/build/runtime.js';
import { buildSnapshot, buildSnapshotFromFile } from '../src/build/snapshot.js';

export const defaultRuntime = (): Runtime => new Runtime(buildSnapshotFromFile('config/meridian.yaml'));

/** old.example.com DNAME example.net.; www.example.net A 198.51.100.10. */
export const dnameRuntime = (): Runtime =>
  new Runtime(
    buildSnapshot(
      parseConfigText(
        `zones:
  - origin: example.com.
    soa: { mname: ns1, rname: h@example.com, serial: 1 }
    ns: [ns1]
    records: { ns1: { A: [192.0.2.1] }, old: { DNAME: example.net. } }
  - origin: example.net.
    soa: { mname: ns1, rname: h@example.net, serial: 1 }
    ns: [ns1]
    records: { ns1: { A: [192.0.2.2] }, www: { A: [198.51.100.10] } }
`,
        'dname.yaml',
      ),
    ),
  );
