// Validates the ServiceMonitor and PrometheusRule objects in rendered manifests against the
// Prometheus Operator's CRD schemas (npm @kubernetes-models/prometheus-operator), which
// kubernetes-validate does not have. .ci/deploy-checks copies this file next to its node_modules:
//   node validate-crds.mjs rendered.yaml...
import fs from "node:fs";
import { loadAll } from "js-yaml";
import { PrometheusRule, ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";

const kinds = { PrometheusRule, ServiceMonitor };
let checked = 0;
let invalid = 0;
for (const file of process.argv.slice(2)) {
  for (const doc of loadAll(fs.readFileSync(file, "utf8"))) {
    if (!doc || doc.apiVersion !== "monitoring.coreos.com/v1" || !kinds[doc.kind]) continue;
    checked++;
    try {
      new kinds[doc.kind](doc).validate();
    } catch (e) {
      invalid++;
      console.error(`${file}: ${doc.kind}/${doc.metadata.name}: ${e.message}`);
    }
  }
}
console.log(`${checked} Prometheus Operator objects checked, ${invalid} invalid`);
process.exit(invalid || checked === 0 ? 1 : 0);
