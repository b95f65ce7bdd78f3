"""The PyTorch side of the LoRA training peer benchmark (bench/train-peer/run.ts).

    /usr/bin/python3 bench/train-peer/torch_lora.py '{"C":256,"L":4,"NH":8,"NKV":4,"F":688,"V":4096,
        "T":128,"B":8,"r":8,"alpha":16,"steps":8,"threads":2}'

A plain Llama-architecture decoder written out the way Hugging Face's LlamaForCausalLM computes
it (RMSNorm, rotate_half RoPE, grouped-query attention with a causal mask, SwiGLU MLP, untied or
tied lm_head) with PEFT-style LoRA on the chosen projections: base frozen, A kaiming-uniform, B
zero, scale alpha/r, the low-rank path added to the base product (never merged). It trains the
LoRA factors only, with what Tributary's Trainer does per step: zero the gradients, forward,
mean cross-entropy, backward, clip the global gradient norm to 1, AdamW (weight decay 0).

Every step draws a fresh random [B, T+1] token batch: throughput does not depend on the values.
It prints one JSON line: tokensPerSecond (B*T / the median step time over the steps after the
warm-up ones), stepSecondsMedian, loss (of the last step) and what it ran with. A bad config
exits with status 2 and a JSON error on stderr naming the field. check_torch_parity.py checks
this model against Hugging Face's own outputs.
"""

import json
import math
import os
import statistics
import sys
import time

REQUIRED_FIELDS = ("C", "L", "NH", "NKV", "F", "V", "T", "B", "r", "alpha", "steps", "threads")
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
DEFAULTS = {
    "warmup": 2,  # steps run but not timed: the first ones allocate and fault in memory
    "targets": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "tied": False,
    "seed": 0,
    "lr": 1e-3,
    "eps": 1e-5,
    "theta": 10000.0,
}


class BenchConfigError(ValueError):
    """A config field is missing or out of range; `field` and `value` say which."""

    def __init__(self, field, value, reason):
        super().__init__(f"Invalid benchmark config {field}={json.dumps(value)}: {reason}")
        self.field = field
        self.value = value


def parse_config(text):
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise BenchConfigError("(json)", text, f"is not JSON ({error.msg})") from None
    if not isinstance(raw, dict):
        raise BenchConfigError("(root)", raw, "must be a JSON object")
    unknown = sorted(set(raw) - set(REQUIRED_FIELDS) - set(DEFAULTS))
    if unknown:
        raise BenchConfigError(unknown[0], raw[unknown[0]], f"is not a field; known: {', '.join(REQUIRED_FIELDS + tuple(DEFAULTS))}")
    config = {**DEFAULTS, **raw}
    for field in REQUIRED_FIELDS:
        if field not in raw:
            raise BenchConfigError(field, None, "is required")
    for field in ("C", "L", "NH", "NKV", "F", "V", "T", "B", "r", "steps", "threads"):
        value = config[field]
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise BenchConfigError(field, value, "must be a positive integer")
    if isinstance(config["warmup"], bool) or not isinstance(config["warmup"], int) or config["warmup"] < 0:
        raise BenchConfigError("warmup", config["warmup"], "must be a non-negative integer")
    for field in ("alpha", "lr", "eps", "theta"):
        value = config[field]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise BenchConfigError(field, value, "must be a positive number")
    if config["C"] % config["NH"] != 0 or (config["C"] // config["NH"]) % 2 != 0:
        raise BenchConfigError("NH", config["NH"], f"must divide C={config['C']} into an even head size (RoPE rotates pairs)")
    if config["NH"] % config["NKV"] != 0:
        raise BenchConfigError("NKV", config["NKV"], f"must divide NH={config['NH']}")
    targets = config["targets"]
    if not isinstance(targets, list) or not targets or any(t not in LORA_TARGETS for t in targets):
        raise BenchConfigError("targets", targets, f"must be a non-empty list of {', '.join(LORA_TARGETS)}")
    if not isinstance(config["tied"], bool):
        raise BenchConfigError("tied", config["tied"], "must be true or false")
    return config


def build_model(torch, config):
    """The decoder with LoRA attached, as nn.Modules defined here (torch is imported late, see main)."""
    nn = torch.nn
    functional = torch.nn.functional
    C, NH, NKV, F, V = config["C"], config["NH"], config["NKV"], config["F"], config["V"]
    HS = C // NH
    eps, rank, scale = config["eps"], config["r"], config["alpha"] / config["r"]

    class RMSNorm(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(C))

        def forward(self, x):
            variance = x.pow(2).mean(-1, keepdim=True)
            return self.weight * (x * torch.rsqrt(variance + eps))

    class Linear(nn.Module):
        """Bias-free nn.Linear with an optional LoRA path: x·Wᵀ + scale·(x·Aᵀ)·Bᵀ (PEFT, dropout 0)."""

        def __init__(self, in_features, out_features, adapted):
            super().__init__()
            self.weight = nn.Parameter(torch.empty(out_features, in_features).normal_(0, 0.02))
            self.lora_A = None
            self.lora_B = None
            if adapted:
                bound = 1 / math.sqrt(in_features)  # kaiming_uniform_(a=√5) for a [r, in] matrix
                self.lora_A = nn.Parameter(torch.empty(rank, in_features).uniform_(-bound, bound))
                self.lora_B = nn.Parameter(torch.zeros(out_features, rank))

        def forward(self, x):
            out = functional.linear(x, self.weight)
            if self.lora_A is not None:
                out = out + functional.linear(functional.linear(x, self.lora_A), self.lora_B) * scale
            return out

    def rotate_half(x):
        half = x.shape[-1] // 2
        return torch.cat((-x[..., half:], x[..., :half]), dim=-1)

    class Attention(nn.Module):
        def __init__(self, targets):
            super().__init__()
            self.q_proj = Linear(C, NH * HS, "q_proj" in targets)
            self.k_proj = Linear(C, NKV * HS, "k_proj" in targets)
            self.v_proj = Linear(C, NKV * HS, "v_proj" in targets)
            self.o_proj = Linear(NH * HS, C, "o_proj" in targets)

        def forward(self, x, cos, sin, mask):
            B, T, _ = x.shape
            q = self.q_proj(x).view(B, T, NH, HS).transpose(1, 2)
            k = self.k_proj(x).view(B, T, NKV, HS).transpose(1, 2)
            v = self.v_proj(x).view(B, T, NKV, HS).transpose(1, 2)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            # GQA: each key/value head serves NH/NKV consecutive query heads (HF's repeat_kv).
            k = k.repeat_interleave(NH // NKV, dim=1)
            v = v.repeat_interleave(NH // NKV, dim=1)
            scores = q @ k.transpose(2, 3) / math.sqrt(HS) + mask
            y = torch.softmax(scores, dim=-1) @ v
            return self.o_proj(y.transpose(1, 2).reshape(B, T, NH * HS))

    class MLP(nn.Module):
        def __init__(self, targets):
            super().__init__()
            self.gate_proj = Linear(C, F, "gate_proj" in targets)
            self.up_proj = Linear(C, F, "up_proj" in targets)
            self.down_proj = Linear(F, C, "down_proj" in targets)

        def forward(self, x):
            return self.down_proj(functional.silu(self.gate_proj(x)) * self.up_proj(x))

    class Layer(nn.Module):
        def __init__(self, targets):
            super().__init__()
            self.input_layernorm = RMSNorm()
            self.self_attn = Attention(targets)
            self.post_attention_layernorm = RMSNorm()
            self.mlp = MLP(targets)

        def forward(self, x, cos, sin, mask):
            x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
            return x + self.mlp(self.post_attention_layernorm(x))

    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed_tokens = nn.Embedding(V, C)
            self.embed_tokens.weight.data.normal_(0, 0.02)
            self.layers = nn.ModuleList(Layer(config["targets"]) for _ in range(config["L"]))
            self.norm = RMSNorm()

    class Llama(nn.Module):
        """Parameter names are LlamaForCausalLM's (model.layers.0.self_attn.q_proj.weight...), LoRA
        factors PEFT's without the wrapper prefix (model.layers.0.self_attn.q_proj.lora_A)."""

        def __init__(self):
            super().__init__()
            self.model = Decoder()
            self.lm_head = None if config["tied"] else Linear(C, V, False)
            inv_freq = 1.0 / (config["theta"] ** (torch.arange(0, HS, 2, dtype=torch.float32) / HS))
            freqs = torch.outer(torch.arange(config["T"], dtype=torch.float32), inv_freq)
            emb = torch.cat((freqs, freqs), dim=-1)
            self.register_buffer("cos", emb.cos(), persistent=False)
            self.register_buffer("sin", emb.sin(), persistent=False)
            causal = torch.full((config["T"], config["T"]), float("-inf")).triu(1)
            self.register_buffer("mask", causal, persistent=False)

        def forward(self, tokens):
            T = tokens.shape[1]
            cos, sin, mask = self.cos[:T], self.sin[:T], self.mask[:T, :T]
            x = self.model.embed_tokens(tokens)
            for layer in self.model.layers:
                x = layer(x, cos, sin, mask)
            x = self.model.norm(x)
            return functional.linear(x, self.model.embed_tokens.weight) if self.lm_head is None else self.lm_head(x)

    model = Llama()
    for name, parameter in model.named_parameters():
        parameter.requires_grad_("lora_" in name)
    return model


def train(torch, config):
    torch.set_num_threads(config["threads"])
    torch.manual_seed(config["seed"])
    model = build_model(torch, config)
    lora = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(lora, lr=config["lr"], weight_decay=0.0)
    B, T, V = config["B"], config["T"], config["V"]
    total = config["warmup"] + config["steps"]
    batches = torch.randint(0, V, (total, B, T + 1))
    step_seconds = []
    loss = None
    for step in range(total):
        started = time.perf_counter()
        optimizer.zero_grad(set_to_none=False)
        logits = model(batches[step, :, :T])
        loss = torch.nn.functional.cross_entropy(logits.reshape(B * T, V), batches[step, :, 1:].reshape(B * T))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(lora, 1.0)
        optimizer.step()
        elapsed = time.perf_counter() - started
        if step >= config["warmup"]:
            step_seconds.append(elapsed)
    median = statistics.median(step_seconds)
    return {
        "tokensPerSecond": B * T / median,
        "stepSecondsMedian": median,
        "stepSeconds": step_seconds,
        "loss": loss.item(),
        "loraParameters": sum(p.numel() for p in lora),
        "threads": torch.get_num_threads(),
        "torchVersion": torch.__version__,
        "ompWaitPolicy": os.environ["OMP_WAIT_POLICY"],
    }


def configure_threads(threads):
    """Sizes the OpenMP and BLAS pools to `threads` and makes idle OpenMP workers sleep.

    Debian's torch runs element-wise ops on OpenMP and matmuls on OpenBLAS's own pthreads. With
    OpenMP's default spin-waiting, the idle pool burns the cores the busy one needs: a training
    step measured 5-10x slower on 2 cores. Passive waiting is how PyTorch should run here.
    """
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def main(argv):
    if len(argv) != 2:
        print(json.dumps({"error": "usage: torch_lora.py '<config JSON>'", "required": list(REQUIRED_FIELDS)}), file=sys.stderr)
        return 2
    try:
        config = parse_config(argv[1])
    except BenchConfigError as error:
        print(json.dumps({"error": str(error), "field": error.field}), file=sys.stderr)
        return 2
    configure_threads(config["threads"])
    # Imported after validation so a bad config is reported without paying torch's import time,
    # and after configure_threads because the thread pools read the environment when they start.
    import torch

    print(json.dumps(train(torch, config)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
