#!/usr/bin/env python3
"""Regenerates the SentencePiece cross-check fixtures in this folder (run by hand, not by the build).

llama2.c's tokenizer.bin keeps every piece and score of a SentencePiece BPE model but not the
model file itself, so this rebuilds an equivalent ModelProto (pieces with U+2581 for spaces, the
same scores, piece types, byte fallback, add_dummy_prefix, no whitespace folding, identity
normalizer: Llama 2's settings) and encodes a fixed set of texts with the reference
implementation. The C++ tokenizer must produce the same ids.

Needs Debian's python3-sentencepiece and python3-protobuf:
  /usr/bin/python3 src/model/testdata/make_spm_fixtures.py <tokenizer.bin> <out.json>
"""
import json
import random
import struct
import sys

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as pb


def read_llama2c_tokenizer(path):
    data = open(path, "rb").read()
    pos = 4  # int32 max_token_length
    pieces = []
    while pos < len(data):
        score, length = struct.unpack_from("<fi", data, pos)
        pos += 8
        pieces.append((data[pos:pos + length].decode("utf-8"), score))
        pos += length
    return pieces


def build_model(pieces):
    m = pb.ModelProto()
    m.trainer_spec.model_type = pb.TrainerSpec.BPE
    m.trainer_spec.vocab_size = len(pieces)
    m.trainer_spec.byte_fallback = True
    m.trainer_spec.unk_id, m.trainer_spec.bos_id, m.trainer_spec.eos_id, m.trainer_spec.pad_id = 0, 1, 2, -1
    m.normalizer_spec.name = "identity"
    m.normalizer_spec.add_dummy_prefix = True
    m.normalizer_spec.remove_extra_whitespaces = False
    m.normalizer_spec.escape_whitespaces = True
    for i, (text, score) in enumerate(pieces):
        p = m.pieces.add()
        p.score = score
        if i == 0:
            p.piece, p.type = "<unk>", pb.ModelProto.SentencePiece.UNKNOWN
        elif i in (1, 2):
            p.piece, p.type = ("<s>" if i == 1 else "</s>"), pb.ModelProto.SentencePiece.CONTROL
        elif len(text) == 6 and text.startswith("<0x") and text.endswith(">"):
            p.piece, p.type = text, pb.ModelProto.SentencePiece.BYTE
        else:
            p.piece, p.type = text.replace(" ", "\u2581"), pb.ModelProto.SentencePiece.NORMAL
    return m


FIXED_TEXTS = [
    "Hello world", "hello world", "Hello, world!", "", " ", "  ", "a", " leading space", "trailing space ",
    "multiple   spaces   inside", "tabs\tand\nnewlines\n\nend", "\n", "line one\r\nline two",
    "Once upon a time, there was a little girl named Lily.",
    "The quick brown fox jumps over the lazy dog. 1234567890",
    "café naïve résumé façade", "e\u0301 combining accent", "Straße", "日本語のテキストです。", "中文测试，你好世界！",
    "한국어 텍스트", "Ελληνικά γράμματα", "русский язык", "עברית", "العربية", "हिन्दी",
    "😀 emoji 🎉👍🏽 family: 👨‍👩‍👧", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math", "zero\u200bwidth", "\u00a0non-breaking space",
    "<s> literal </s> and <unk> and <0x41>", "def f(x):\n    return x ** 2\n", "    indented code",
    "https://example.com/path?q=1&r=2#frag", "3.14159 2024-01-01 $100 50%", "~!@#$%^&*()_+`-={}[]|\\:;\"'<>,.?/",
    "ǅ ǈ ǋ titlecase", "\U0010FFFF last code point", "\u0001\u0002 control chars \u007f",
]

POOL = (list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") + list(" " * 12) +
        list(".,;:!?'\"()-\n\t") + list("éüñçøåßœ") + list("日本語中文测试한국어") + ["😀", "🎉", "👍🏽", "\u200b"] +
        ["the", " the", "ing", " and", "tion", " of", "er", "  "])


def random_texts(count, seed):
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        n = rng.randint(1, 40)
        out.append("".join(rng.choice(POOL) for _ in range(n)))
    return out


def main():
    src, dst = sys.argv[1], sys.argv[2]
    model = build_model(read_llama2c_tokenizer(src))
    sp = spm.SentencePieceProcessor(model_proto=model.SerializeToString())
    texts = FIXED_TEXTS + random_texts(200, seed=260)
    cases = [{"text": t, "ids": sp.encode(t)} for t in texts]
    header = {"generator": "sentencepiece " + spm.__version__, "source": src.split("/")[-1]}
    with open(dst, "w", encoding="utf-8") as f:  # one case per line, so diffs stay readable
        f.write(json.dumps(header, ensure_ascii=False)[:-1] + ', "cases": [\n')
        f.write(",\n".join(json.dumps(c, ensure_ascii=False) for c in cases))
        f.write("\n]}\n")


if __name__ == "__main__":
    main()
