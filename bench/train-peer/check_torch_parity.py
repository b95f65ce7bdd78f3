"""Checks that the benchmark's PyTorch peer (torch_lora.py) computes what Hugging Face computes.

    /usr/bin/python3 bench/train-peer/check_torch_parity.py [fixture folder]

The engine's parity fixtures (test/nodes/engine/model/fixtures/llama-gqa, made by
make_hf_golden.py with transformers' LlamaForCausalLM and PEFT) hold a tiny checkpoint, a LoRA
adapter on all seven projections and HF's outputs for one batch. This loads the checkpoint and the
adapter into torch_lora.py's model and compares its logits, loss and LoRA gradients with HF's, so
the benchmark's peer is known to train the same model as the engine (whose own parity test uses
the same fixtures). Prints the largest differences; exits 1 if one is over tolerance.
"""

import json
import os
import struct
import sys

import torch

# Importing the sibling script would otherwise leave a __pycache__ folder in the source tree.
sys.dont_write_bytecode = True
import torch_lora  # noqa: E402

DEFAULT_FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "nodes", "engine", "model", "fixtures", "llama-gqa")
TOLERANCE = 1e-4  # relative to the largest magnitude of each compared tensor


class FixtureError(ValueError):
    """The fixture folder does not hold what make_hf_golden.py writes; `path` says which file."""

    def __init__(self, path, reason):
        super().__init__(f"{path}: {reason}")
        self.path = path


def read_safetensors(path):
    """name -> float32 tensor; F32 only, which is what the fixtures hold."""
    with open(path, "rb") as file:
        data = file.read()
    (header_size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_size])
    body = data[8 + header_size:]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if entry["dtype"] != "F32":
            raise FixtureError(path, f"tensor {name} is {entry['dtype']}, only F32 is read here")
        start, end = entry["data_offsets"]
        tensors[name] = torch.frombuffer(bytearray(body[start:end]), dtype=torch.float32).reshape(entry["shape"])
    return tensors


def peer_config(hf, adapter):
    if hf.get("rope_parameters", {}).get("rope_type", "default") != "default":
        raise FixtureError("config.json", "uses RoPE scaling, which torch_lora.py does not implement")
    if hf["hidden_size"] != hf["num_attention_heads"] * hf.get("head_dim", hf["hidden_size"] // hf["num_attention_heads"]):
        raise FixtureError("config.json", "has head_dim × heads ≠ hidden_size, which torch_lora.py does not implement")
    return torch_lora.parse_config(json.dumps({
        "C": hf["hidden_size"], "L": hf["num_hidden_layers"], "NH": hf["num_attention_heads"], "NKV": hf["num_key_value_heads"],
        "F": hf["intermediate_size"], "V": hf["vocab_size"], "T": hf["max_position_embeddings"], "B": 1,
        "r": adapter["r"], "alpha": adapter["lora_alpha"], "targets": sorted(adapter["target_modules"]),
        "tied": hf["tie_word_embeddings"], "eps": hf["rms_norm_eps"], "theta": hf["rope_parameters"]["rope_theta"],
        "steps": 1, "threads": 1,
    }))


def load_weights(model, fixture):
    state = dict(read_safetensors(os.path.join(fixture, "model.safetensors")))
    for name, tensor in read_safetensors(os.path.join(fixture, "adapter_model.safetensors")).items():
        # PEFT: base_model.model.<HF module>.lora_A.weight -> <HF module>.lora_A
        state[name.removeprefix("base_model.model.").removesuffix(".weight")] = tensor
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise FixtureError(fixture, f"weights do not match the model: missing {missing[:3]}, unexpected {unexpected[:3]}")


def relative_error(ours, theirs):
    return ((ours - theirs).abs().max() / theirs.abs().max().clamp_min(1e-30)).item()


def main(argv):
    fixture = argv[1] if len(argv) > 1 else DEFAULT_FIXTURE
    with open(os.path.join(fixture, "config.json")) as file:
        hf = json.load(file)
    with open(os.path.join(fixture, "adapter_config.json")) as file:
        adapter = json.load(file)
    config = peer_config(hf, adapter)
    model = torch_lora.build_model(torch, config)
    load_weights(model, fixture)
    golden = read_safetensors(os.path.join(fixture, "golden.safetensors"))

    tokens = golden["tokens"].long()
    labels = golden["labels"].long()
    logits = model(tokens)
    # HF's causal-LM loss: position t predicts label t+1; -100 is not scored.
    loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, config["V"]), labels[:, 1:].reshape(-1), ignore_index=-100)
    loss.backward()

    errors = {
        "lora.logits": relative_error(logits.detach().reshape(golden["lora.logits"].shape), golden["lora.logits"]),
        "lora.loss": relative_error(loss.detach().reshape(1), golden["lora.loss"]),
    }
    for name, parameter in model.named_parameters():
        if "lora_" not in name:
            continue
        parts = name.split(".")  # model.layers.<l>.<self_attn|mlp>.<target>.lora_<A|B>
        key = f"lora.grad.{parts[2]}.{parts[4]}.{parts[5][-1]}"
        errors[key] = relative_error(parameter.grad, golden[key])
    worst = max(errors, key=errors.get)
    print(json.dumps({"fixture": os.path.normpath(fixture), "loss": loss.item(), "goldenLoss": golden["lora.loss"].item(),
                      "compared": len(errors), "worst": worst, "worstRelativeError": errors[worst], "tolerance": TOLERANCE}))
    return 0 if errors[worst] <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
