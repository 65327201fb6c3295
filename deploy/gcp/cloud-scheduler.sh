#!/usr/bin/env bash
# Launch the newsbeam Dataflow Flex Template every 15 minutes from Cloud Scheduler.
# Prerequisites: the template spec built as in the README ("Running at scale"), and a
# service account allowed to launch Dataflow jobs (roles/dataflow.developer) and to act
# as the workers' service account.
set -euo pipefail
PROJECT=${PROJECT:?set PROJECT}
REGION=${REGION:-europe-west1}
BUCKET=${BUCKET:?set BUCKET}
SCHEDULER_SA=${SCHEDULER_SA:?set SCHEDULER_SA (service account e-mail)}
TEMPLATE="gs://${BUCKET}/templates/newsbeam.json"

gcloud scheduler jobs create http newsbeam-run \
  --project="${PROJECT}" --location="${REGION}" \
  --schedule="*/15 * * * *" --time-zone="Etc/UTC" \
  --uri="https://dataflow.googleapis.com/v1b3/projects/${PROJECT}/locations/${REGION}/flexTemplates:launch" \
  --http-method=POST \
  --oauth-service-account-email="${SCHEDULER_SA}" \
  --headers="Content-Type=application/json" \
  --message-body="$(cat <<JSON
{
  "launchParameter": {
    "jobName": "newsbeam-scheduled",
    "containerSpecGcsPath": "${TEMPLATE}",
    "parameters": {
      "config": "gs://${BUCKET}/config/newsbeam.yaml",
      "output": "gs://${BUCKET}/newsbeam"
    }
  }
}
JSON
)"
