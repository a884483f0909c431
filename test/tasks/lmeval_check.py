"""lm-evaluation-harness's own code on xent's inputs, for test/tasks/lmeval.test.ts.

Reads JSON on stdin: {"max_length", "bos", "tokens": {text: [ids]}, "scores": [[...]],
"tasks": [doc, ...]}, where `tokens` holds the model's tokenisation of every string xent
tokenised (lm-eval's remote tokenizer would return the same: the model's tokenizer without
special tokens), and scores[i] holds, per request xent sent for task i in order, the
log-probabilities it got for the continuation tokens. Runs, with lm-eval 0.4.13's functions:
  ConfigurableTask.construct_requests (multiple_choice; Winogrande's multiple_input via
  lm_eval/tasks/winogrande/preprocess_winogrande.py), TemplateLM.loglikelihood (empty
  context, _encode_pair), TemplateAPI.batch_loglikelihood_requests (max_length
  truncation), LocalCompletionsAPI.parse_logprobs (the sum over token_logprobs[ctxlen:-1]),
  ConfigurableTask.process_results (acc, acc_norm), metrics.mean and metrics.mean_stderr.
Prints JSON: per task the requests (inp, ctxlen), the log-likelihoods, acc and acc_norm;
and the aggregates.
"""

import json
import sys
import types

sys.modules.setdefault("sacrebleu", types.ModuleType("sacrebleu"))  # imported by metrics.py, unused here

from lm_eval.api import metrics  # noqa: E402
from lm_eval.api.model import TemplateLM  # noqa: E402
from lm_eval.api.task import ConfigurableTask, TaskConfig  # noqa: E402
from lm_eval.models.api_models import TemplateAPI  # noqa: E402
from lm_eval.models.openai_completions import LocalCompletionsAPI  # noqa: E402
from lm_eval.tasks.winogrande import preprocess_winogrande as wg  # noqa: E402

inp = json.load(sys.stdin)
TOKENS = inp["tokens"]


class RecordingLM(TemplateLM):
    """A TemplateLM whose tokenizer is the model's, read from xent's tokenisations."""

    def __init__(self, bos):
        super().__init__()
        self.bos = bos
        self.captured = None

    @property
    def eot_token_id(self):
        return self.bos

    @property
    def prefix_token_id(self):
        return self.bos

    def tok_encode(self, string, add_special_tokens=None, **kwargs):
        return list(TOKENS[string])

    def _loglikelihood_tokens(self, requests, **kwargs):
        self.captured = requests
        return [(0.0, False)] * len(requests)

    def loglikelihood_rolling(self, requests, disable_tqdm=False):
        raise NotImplementedError

    def generate_until(self, requests, disable_tqdm=False):
        raise NotImplementedError


def make_task(multiple_input):
    task = object.__new__(ConfigurableTask)
    task._config = TaskConfig(task="xent", output_type="multiple_choice", target_delimiter=" ")
    task.OUTPUT_TYPE = "multiple_choice"
    task.multiple_input = multiple_input
    task.multiple_target = False
    task._metric_fn_list = {"acc": metrics.mean, "acc_norm": metrics.mean}
    if multiple_input:
        task.doc_to_text = wg.doc_to_text
        task.doc_to_target = wg.doc_to_target
        task.doc_to_choice = wg.doc_to_choice
    else:
        task.doc_to_text = lambda doc: doc["context"]
        task.doc_to_target = lambda doc: doc["gold"]
        task.doc_to_choice = lambda doc: doc["choices"]
    return task


api = types.SimpleNamespace(max_length=inp["max_length"] - 1)  # TemplateAPI keeps max_length - 1
lm = RecordingLM(inp["bos"])
out = {"tasks": []}
accs, acc_norms = [], []
for doc, scores in zip(inp["tasks"], inp["scores"]):
    winogrande = "sentence" in doc
    if winogrande:
        doc = dict(doc, answer=str(doc["answer"]))  # the Hugging Face dataset's answers are strings
    task = make_task(winogrande)
    ctx = task.doc_to_choice(doc) if winogrande else task.doc_to_text(doc)
    instances = task.construct_requests(doc, ctx)
    lm.loglikelihood(instances, disable_tqdm=True)
    chunk = [(r[0], r[1], r[2]) for r in lm.captured]
    inputs, ctxlens, _ = TemplateAPI.batch_loglikelihood_requests(api, [chunk])
    # The completion response a server returns with echo: one log-probability per prompt
    # token (the first null) and the generated token last; xent's values at the scored positions.
    outputs = {"choices": []}
    k = 0
    for i, (tokens, ctxlen) in enumerate(zip(inputs, ctxlens)):
        lp = [None] + [0.0] * (len(tokens) - 1) + [0.0]
        if len(tokens) > ctxlen:
            lp[ctxlen : len(tokens)] = scores[k]
            k += 1
        outputs["choices"].append(
            {"index": i, "logprobs": {"token_logprobs": lp, "top_logprobs": [{"x": 0.0}] * len(lp)}}
        )
    results = LocalCompletionsAPI.parse_logprobs(outputs=outputs, tokens=inputs, ctxlens=ctxlens)
    r = task.process_results(doc, results)
    accs.append(r["acc"])
    acc_norms.append(r["acc_norm"])
    out["tasks"].append(
        {"inputs": inputs, "ctxlens": ctxlens, "lls": [x[0] for x in results], "acc": r["acc"], "acc_norm": r["acc_norm"]}
    )
out["acc"] = metrics.mean(accs)
out["acc_stderr"] = metrics.mean_stderr(accs)
out["acc_norm"] = metrics.mean(acc_norms)
out["acc_norm_stderr"] = metrics.mean_stderr(acc_norms)
json.dump(out, sys.stdout)
