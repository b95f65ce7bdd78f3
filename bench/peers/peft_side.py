"""Hugging Face transformers + PEFT on PyTorch CPU: the peer side of bench/peers/run.ts.

python peft_side.py <model_dir> <adapters_dir> <spec.json>  ->  one JSON line on stdout.
spec: {"dtype": "float32"|"float16", "threads": [n, ...], "prompts": [[ids]...], "new_tokens": n,
       "runs": [{"label": str, "requests": n, "adapters": k}]}
Each run generates greedily (do_sample=False, exactly new_tokens per request, eos ignored) for `requests`
prompts in ONE generate() call with adapter_names = adapter (i mod k) per row: PEFT's mixed-adapter batch.
requests=1 is single-stream decode. A warm-up generate runs first; matmul GFLOP/s is reported so a
mis-installed BLAS would show.
"""
import json
import sys
import time

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM


def main() -> None:
    model_dir, adapters_dir, spec_path = sys.argv[1:4]
    spec = json.load(open(spec_path))
    dtype = getattr(torch, spec["dtype"])
    base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype)
    k_max = max(run["adapters"] for run in spec["runs"])
    model = PeftModel.from_pretrained(base, f"{adapters_dir}/adapter-0", adapter_name="a0")
    for i in range(1, k_max):
        model.load_adapter(f"{adapters_dir}/adapter-{i}", adapter_name=f"a{i}")
    model.eval()

    a = torch.randn(1024, 1024)
    torch.mm(a, a)
    start = time.perf_counter()
    for _ in range(10):
        torch.mm(a, a)
    gflops = 10 * 2 * 1024**3 / (time.perf_counter() - start) / 1e9

    prompts = spec["prompts"]
    new_tokens = spec["new_tokens"]

    def generate(requests: int, adapters: int) -> tuple[float, list[int]]:
        ids = torch.tensor([prompts[i % len(prompts)] for i in range(requests)])
        names = [f"a{i % adapters}" for i in range(requests)]
        start = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=new_tokens,
                                 min_new_tokens=new_tokens, do_sample=False, adapter_names=names, pad_token_id=0)
        seconds = time.perf_counter() - start
        return requests * new_tokens / seconds, out[0, ids.shape[1]:].tolist()

    generate(2, 2)
    # OpenMP threads spin: on a busy machine more can be slower. A short single-stream probe picks the count.
    best_threads, best_rate = spec["threads"][0], 0.0
    for threads in spec["threads"]:
        torch.set_num_threads(threads)
        rate, _ = generate(1, 1)
        if rate > best_rate:
            best_threads, best_rate = threads, rate
    torch.set_num_threads(best_threads)
    results = []
    for run in spec["runs"]:
        runs = sorted((generate(run["requests"], run["adapters"]) for _ in range(spec.get("repeats", 1))), key=lambda r: r[0])
        rate, first = runs[(len(runs) - 1) // 2]
        results.append({"label": run["label"], "tokens_per_s": rate, "first_tokens": first, "threads": best_threads})
    print(json.dumps({"torch": torch.__version__, "matmul_gflops": gflops, "results": results}))


if __name__ == "__main__":
    main()
