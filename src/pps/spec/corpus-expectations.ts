/**
 * The expected outcome of every file in the compatibility corpus (`../shared/pachyderm-specs`,
 * the pipeline specs under `examples/` of Pachyderm 1.13.x, 2.0.x and master), decided by
 * reading each file. corpus.test.ts parses and validates every file and compares with this
 * table, and fails when a file is missing from it or an entry names no file.
 *
 * - `ok`: the file parses and every spec in it validates; the pipeline names are listed in
 *   file order (so multi-document files are pinned too), and no warning is produced. Validation
 *   compiles every input glob (src/lib/pach-glob.ts), so the join and group examples' capture
 *   globs (`/STOREID(*).txt`, `/*-PATID(*)-*.txt`) are checked too; those specs also run
 *   (test/e2e/joins-groups.test.ts runs them with Pachyderm's example data).
 * - `refused`: the file is refused with this error code, a message containing `message`, at
 *   this line and column; `why` says why Pachyderm itself refuses it too (or why it is not a
 *   pipeline spec at all).
 */

export type CorpusExpectation =
  | { outcome: 'ok'; pipelines: readonly string[] }
  | {
      outcome: 'refused';
      code: 'PPS_SPEC_SYNTAX' | 'PPS_SPEC_INVALID';
      message: string;
      line: number;
      column: number;
      why: string;
    };

function ok(...pipelines: string[]): CorpusExpectation {
  return { outcome: 'ok', pipelines };
}

const GPU_AS_NUMBER: Omit<Extract<CorpusExpectation, { outcome: 'refused' }>, 'message'> = {
  outcome: 'refused',
  code: 'PPS_SPEC_SYNTAX',
  line: 20,
  column: 12,
  why:
    'resource_limits.gpu is a GPUSpec message ({"type", "number"}) in 1.13 and 2.x; Pachyderm\'s JSON reader refuses ' +
    'the bare number 1 (master fixed this example to {"number": 1}).',
};

const NO_GLOB: Omit<Extract<CorpusExpectation, { outcome: 'refused' }>, 'column'> = {
  outcome: 'refused',
  code: 'PPS_SPEC_INVALID',
  message: 'input must specify a glob',
  line: 6,
  why: 'the pfs input has a repo but no glob; Pachyderm\'s validateInput refuses it with this exact message.',
};

const TEMPLATE_NAME: Omit<Extract<CorpusExpectation, { outcome: 'refused' }>, 'column'> = {
  outcome: 'refused',
  code: 'PPS_SPEC_INVALID',
  message: 'invalid pipeline name: name ($PIPELINE_NAME) invalid: only alphanumeric characters, underscores, and dashes are allowed',
  line: 3,
  why:
    'a template (examples/run fills $PIPELINE_NAME and friends with envsubst before use); as written, ' +
    'the pipeline name is not a valid name, and Pachyderm refuses it with this message.',
};

export const CORPUS_EXPECTATIONS: Readonly<Record<string, CorpusExpectation>> = {
  '1.13.x/examples/db/query.json': ok('query'),
  '1.13.x/examples/deferred-processing/automated_deferred_processing/branch-mover-no-auth.json': ok('branch-mover'),
  '1.13.x/examples/deferred-processing/automated_deferred_processing/branch-mover.json': ok('branch-mover'),
  '1.13.x/examples/deferred-processing/deferred_processing_plus_transactions/edges_dp.json': ok('edges_dp'),
  '1.13.x/examples/deferred-processing/deferred_processing_plus_transactions/montage_dp.json': ok('montage_dp'),
  '1.13.x/examples/gatk/joint-call.json': ok('joint_call'),
  '1.13.x/examples/gatk/likelihoods.json': ok('likelihoods'),
  '1.13.x/examples/group/lab_group_by_hospital.json': ok('group_by_hospital'),
  '1.13.x/examples/group/lab_group_by_patient.json': ok('group_by_patient'),
  '1.13.x/examples/group/retail_group.json': ok('group_store_revenue'),
  '1.13.x/examples/joins/inner_join.json': ok('inner_join'),
  '1.13.x/examples/joins/outer_join.json': ok('outer_join'),
  '1.13.x/examples/kubeflow/mnist/pipeline.yaml': ok('mnist'),
  '1.13.x/examples/kubeflow/mnist/standalone_pipeline.yaml': ok('trigger-mnist'),
  '1.13.x/examples/ml/gpt-2/generate.json': ok('generate'),
  '1.13.x/examples/ml/gpt-2/train.json': ok('train'),
  '1.13.x/examples/ml/gpt-2/tweets.json': ok('tweets'),
  '1.13.x/examples/ml/housing-prices/regression.json': ok('regression'),
  '1.13.x/examples/ml/hyperparameter/model.json': ok('model'),
  '1.13.x/examples/ml/hyperparameter/select.json': ok('select'),
  '1.13.x/examples/ml/hyperparameter/split.json': ok('split'),
  '1.13.x/examples/ml/hyperparameter/test.json': ok('test'),
  '1.13.x/examples/ml/iris/julia_infer.json': ok('inference'),
  '1.13.x/examples/ml/iris/julia_train.json': ok('model'),
  '1.13.x/examples/ml/iris/python_infer.json': ok('inference'),
  '1.13.x/examples/ml/iris/python_train.json': ok('model'),
  '1.13.x/examples/ml/iris/rstats_infer.json': ok('inference'),
  '1.13.x/examples/ml/iris/rstats_train.json': ok('model'),
  '1.13.x/examples/ml/neon/infer.json': ok('inference'),
  '1.13.x/examples/ml/neon/train.json': ok('model'),
  '1.13.x/examples/ml/tensorflow/pre-processing_and_generation.json': ok('preprocess_images', 'generate_images'),
  '1.13.x/examples/ml/tensorflow/training_and_export.json': ok('checkpoint', 'model'),
  '1.13.x/examples/ml/tensorflow/training_and_export_gpu.json': { ...GPU_AS_NUMBER, message: 'resource_limits.gpu: expected an object' },
  '1.13.x/examples/opencv/edges.json': ok('edges'),
  '1.13.x/examples/opencv/montage.json': ok('montage'),
  '1.13.x/examples/redshift/pipeline.json': { ...NO_GLOB, column: 7 },
  '1.13.x/examples/run/config/pipeline.json': { ...TEMPLATE_NAME, column: 9 },
  '1.13.x/examples/scraper/scraper.json': ok('scraper'),
  '1.13.x/examples/shuffle/shuffle.json': ok('shuffle'),
  '1.13.x/examples/spark/pi/estimate_pi_pipeline.json': ok('estimate_pi'),
  '1.13.x/examples/spouts/EmailSentimentAnalyzer/imap_spout.json': ok('imap_spout'),
  '1.13.x/examples/spouts/EmailSentimentAnalyzer/sentimentalist.json': ok('sentimentalist'),
  '1.13.x/examples/spouts/SQS-S3/sqs-spout.json': {
    outcome: 'refused',
    code: 'PPS_SPEC_SYNTAX',
    message: "expected ',' or '}' after property value, found '\"' (a missing comma?)",
    line: 19,
    column: 9,
    why: 'malformed JSON: the "env" object closing on line 18 is not followed by a comma before "secrets" (the corpus README calls this out).',
  },
  '1.13.x/examples/spouts/go-kafka-spout/pipelines/kafka_spout.pipeline': ok('kafka_spout'),
  '1.13.x/examples/spouts/go-rabbitmq-spout/pipelines/spout.pipeline.json': ok('rabbitmq-spout'),
  '1.13.x/examples/spouts/spout-marker/spout-marker-pipeline.json': ok('spoutmarker'),
  '1.13.x/examples/spouts/spout101/pipelines/processor.json': ok('processor'),
  '1.13.x/examples/spouts/spout101/pipelines/spout.json': ok('spout'),
  '1.13.x/examples/transactions/model.json': ok('model'),
  '1.13.x/examples/word_count/pipelines/map.json': ok('map'),
  '1.13.x/examples/word_count/pipelines/reduce.json': ok('reduce'),
  '1.13.x/examples/word_count/pipelines/scraper.json': ok('scraper'),
  '2.0.x/examples/db/query.json': ok('query'),
  '2.0.x/examples/deferred-processing/automated_deferred_processing/branch-mover-no-auth.json': ok('branch-mover'),
  '2.0.x/examples/deferred-processing/automated_deferred_processing/branch-mover.json': ok('branch-mover'),
  '2.0.x/examples/deferred-processing/deferred_processing_plus_transactions/edges_dp.json': ok('edges_dp'),
  '2.0.x/examples/deferred-processing/deferred_processing_plus_transactions/montage_dp.json': ok('montage_dp'),
  '2.0.x/examples/gatk/joint-call.json': ok('joint_call'),
  '2.0.x/examples/gatk/likelihoods.json': ok('likelihoods'),
  '2.0.x/examples/globalID/pipelines/edges.json': ok('edges'),
  '2.0.x/examples/globalID/pipelines/montage.json': ok('montage'),
  '2.0.x/examples/group/lab_group_by_hospital.json': ok('group_by_hospital'),
  '2.0.x/examples/group/lab_group_by_patient.json': ok('group_by_patient'),
  '2.0.x/examples/group/retail_group.json': ok('group_store_revenue'),
  '2.0.x/examples/joins/pipelines/inner/inner_join.json': ok('inner_join'),
  '2.0.x/examples/joins/pipelines/inner/reduce_inner.json': ok('reduce_inner'),
  '2.0.x/examples/joins/pipelines/outer/outer_join.json': ok('outer_join'),
  '2.0.x/examples/joins/pipelines/outer/reduce_outer.json': ok('reduce_outer'),
  '2.0.x/examples/kubeflow/mnist/pipeline.yaml': ok('mnist'),
  '2.0.x/examples/kubeflow/mnist/standalone_pipeline.yaml': ok('trigger-mnist'),
  '2.0.x/examples/ml/gpt-2/generate.json': ok('generate'),
  '2.0.x/examples/ml/gpt-2/train.json': ok('train'),
  '2.0.x/examples/ml/gpt-2/tweets.json': ok('tweets'),
  '2.0.x/examples/ml/housing-prices/regression.json': ok('regression'),
  '2.0.x/examples/ml/hyperparameter/model.json': ok('model'),
  '2.0.x/examples/ml/hyperparameter/select.json': ok('select'),
  '2.0.x/examples/ml/hyperparameter/split.json': ok('split'),
  '2.0.x/examples/ml/hyperparameter/test.json': ok('test'),
  '2.0.x/examples/ml/iris/julia_infer.json': ok('inference'),
  '2.0.x/examples/ml/iris/julia_train.json': ok('model'),
  '2.0.x/examples/ml/iris/python_infer.json': ok('inference'),
  '2.0.x/examples/ml/iris/python_train.json': ok('model'),
  '2.0.x/examples/ml/iris/rstats_infer.json': ok('inference'),
  '2.0.x/examples/ml/iris/rstats_train.json': ok('model'),
  '2.0.x/examples/ml/neon/infer.json': ok('inference'),
  '2.0.x/examples/ml/neon/train.json': ok('model'),
  '2.0.x/examples/ml/tensorflow/pre-processing_and_generation.json': ok('preprocess_images', 'generate_images'),
  '2.0.x/examples/ml/tensorflow/training_and_export.json': ok('checkpoint', 'model'),
  '2.0.x/examples/ml/tensorflow/training_and_export_gpu.json': { ...GPU_AS_NUMBER, message: 'resource_limits.gpu: expected an object' },
  '2.0.x/examples/opencv/edges.json': ok('edges'),
  '2.0.x/examples/opencv/montage.json': ok('montage'),
  '2.0.x/examples/redshift/pipeline.json': { ...NO_GLOB, column: 7 },
  '2.0.x/examples/run/config/pipeline.json': { ...TEMPLATE_NAME, column: 9 },
  '2.0.x/examples/scraper/scraper.json': ok('scraper'),
  '2.0.x/examples/shuffle/shuffle.json': ok('shuffle'),
  '2.0.x/examples/spark/pi/estimate_pi_pipeline.json': ok('estimate_pi'),
  '2.0.x/examples/spouts/go-rabbitmq-spout/pipelines/spout.pipeline.json': ok('rabbitmq-spout'),
  '2.0.x/examples/spouts/spout101/pipelines/processor.json': ok('processor'),
  '2.0.x/examples/spouts/spout101/pipelines/reducer.json': ok('reducer'),
  '2.0.x/examples/spouts/spout101/pipelines/spout.json': ok('spout'),
  '2.0.x/examples/transactions/model.json': ok('model'),
  '2.0.x/examples/word_count/pipelines/map.json': ok('map'),
  '2.0.x/examples/word_count/pipelines/reduce.json': ok('reduce'),
  '2.0.x/examples/word_count/pipelines/scraper.json': ok('scraper'),
  'README.md': {
    outcome: 'refused',
    code: 'PPS_SPEC_SYNTAX',
    message: 'YAML: Implicit keys need to be on a single line',
    line: 3,
    column: 1,
    why: 'the corpus README, Markdown rather than a pipeline spec: read as YAML (it does not start with "{"), its first paragraph is not a mapping.',
  },
  'master/examples/churn/churn.pipeline.json': ok('churn'),
  'master/examples/db/query.pipeline.json': ok('query'),
  'master/examples/deferred-processing/automated_deferred_processing/branch-mover-no-auth.pipeline.json': ok('branch-mover'),
  'master/examples/deferred-processing/automated_deferred_processing/branch-mover.pipeline.json': ok('branch-mover'),
  'master/examples/deferred-processing/deferred_processing_plus_transactions/edges_dp.pipeline.json': ok('edges_dp'),
  'master/examples/deferred-processing/deferred_processing_plus_transactions/montage_dp.pipeline.json': ok('montage_dp'),
  'master/examples/gatk/joint-call.pipeline.json': ok('joint_call'),
  'master/examples/gatk/likelihoods.pipeline.json': ok('likelihoods'),
  'master/examples/globalID/pipelines/edges.pipeline.json': ok('edges'),
  'master/examples/globalID/pipelines/montage.pipeline.json': ok('montage'),
  'master/examples/group/pipelines/lab/lab_group_by_hospital.pipeline.json': ok('group_by_hospital'),
  'master/examples/group/pipelines/lab/lab_group_by_patient.pipeline.json': ok('group_by_patient'),
  'master/examples/group/pipelines/lab/reduce_group_by_hospital.pipeline.json': ok('reduce_group_by_hospital'),
  'master/examples/group/pipelines/lab/reduce_group_by_patient.pipeline.json': ok('reduce_group_by_patient'),
  'master/examples/group/pipelines/retail/retail_group.pipeline.json': ok('group_store_revenue'),
  'master/examples/joins/pipelines/inner/inner_join.pipeline.json': ok('inner_join'),
  'master/examples/joins/pipelines/inner/reduce_inner.pipeline.json': ok('reduce_inner'),
  'master/examples/joins/pipelines/outer/outer_join.pipeline.json': ok('outer_join'),
  'master/examples/joins/pipelines/outer/reduce_outer.pipeline.json': ok('reduce_outer'),
  'master/examples/kubeflow/mnist/pipeline.yaml': ok('mnist'),
  'master/examples/kubeflow/mnist/standalone_pipeline.yaml': ok('trigger-mnist'),
  'master/examples/ml/gpt-2/generate.pipeline.json': ok('generate'),
  'master/examples/ml/gpt-2/train.pipeline.json': ok('train'),
  'master/examples/ml/gpt-2/tweets.pipeline.json': ok('tweets'),
  'master/examples/ml/housing-prices/regression.pipeline.json': ok('regression'),
  'master/examples/ml/hyperparameter/model.pipeline.json': ok('model'),
  'master/examples/ml/hyperparameter/select.pipeline.json': ok('select'),
  'master/examples/ml/hyperparameter/split.pipeline.json': ok('split'),
  'master/examples/ml/hyperparameter/test.pipeline.json': ok('test'),
  'master/examples/ml/iris/julia_infer.pipeline.json': ok('inference'),
  'master/examples/ml/iris/julia_train.pipeline.json': ok('model'),
  'master/examples/ml/iris/python_infer.pipeline.json': ok('inference'),
  'master/examples/ml/iris/python_train.pipeline.json': ok('model'),
  'master/examples/ml/iris/rstats_infer.pipeline.json': ok('inference'),
  'master/examples/ml/iris/rstats_train.pipeline.json': ok('model'),
  'master/examples/ml/neon/infer.pipeline.json': ok('inference'),
  'master/examples/ml/neon/train.pipeline.json': ok('model'),
  'master/examples/ml/tensorflow/pre-processing_and_generation.pipeline.json': ok('preprocess_images', 'generate_images'),
  'master/examples/ml/tensorflow/training_and_export.pipeline.json': ok('checkpoint', 'model'),
  'master/examples/ml/tensorflow/training_and_export_gpu.pipeline.json': ok('checkpoint', 'model'),
  'master/examples/opencv/edges-union.pipeline.json': ok('edges'),
  'master/examples/opencv/edges.pipeline.json': ok('edges'),
  'master/examples/opencv/montage.pipeline.json': ok('montage'),
  'master/examples/redshift/pipeline.pipeline.json': { ...NO_GLOB, column: 5 },
  'master/examples/run/config/pipeline.pipeline.json': { ...TEMPLATE_NAME, column: 5 },
  'master/examples/scraper/scraper.pipeline.json': ok('scraper'),
  'master/examples/shuffle/shuffle.pipeline.json': ok('shuffle'),
  'master/examples/spark/pi/estimate_pi.pipeline.json': ok('estimate_pi'),
  'master/examples/spouts/go-rabbitmq-spout/pipelines/spout.pipeline.json': ok('rabbitmq-spout'),
  'master/examples/spouts/spout101/pipelines/processor.pipeline.json': ok('processor'),
  'master/examples/spouts/spout101/pipelines/spout.pipeline.json': ok('spout'),
  'master/examples/transactions/model.pipeline.json': ok('model'),
  'master/examples/word_count/pipelines/map.pipeline.json': ok('map'),
  'master/examples/word_count/pipelines/reduce.pipeline.json': ok('reduce'),
  'master/examples/word_count/pipelines/scraper.pipeline.json': ok('scraper'),
};
