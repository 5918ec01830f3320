"""Build tests/data/tiny-xlmr: a 2-layer, 64-wide XLM-RoBERTa with random weights and a small
multilingual Unigram tokenizer with XLM-R's special tokens (ids 0-3 as in xlm-roberta-base).

Run once from the repository root: ``python tests/data/make_tiny_text_model.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast, XLMRobertaConfig, XLMRobertaModel

OUT = Path(__file__).parent / "tiny-xlmr"
SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
CORPUS = [
    "A lively Irish jig in 6/8 for fiddle.",
    "A slow air from Scotland, played on the pipes.",
    "Ein deutsches Volkslied aus dem Elsass, ruhig und schlicht.",
    "Chanson populaire lorraine, gaie et dansante.",
    "Una canción popular española con guitarra.",
    "Un madrigale italiano a cinque voci.",
    "中国民歌，来自山西，旋律优美。",
    "日本の民謡、ゆっくりとしたテンポ。",
    "Русская народная песня в миноре.",
    "Bach chorale in four voices, soprano alto tenor bass.",
    "Piano sonata by Mozart in C major, allegro.",
    "String quartet by Haydn, minuet and trio.",
    "reel hornpipe jig strathspey slip jig polka waltz march",
] * 4


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    tokenizer = Tokenizer(models.Unigram())
    # XLM-R's pipeline minus its SentencePiece normaliser, so that transformers 4.x (which
    # reads tokenizer.json as it is) and 5.x (which rebuilds XLM-R's pipeline) agree.
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")]
    )
    tokenizer.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(vocab_size=400, special_tokens=SPECIALS, unk_token="<unk>")
    tokenizer.train_from_iterator(CORPUS, trainer)
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>",
        unk_token="<unk>", pad_token="<pad>", mask_token="<mask>",
        model_max_length=512,
    )
    fast.save_pretrained(OUT)
    # Name XLM-R's class so that transformers 4.x (the official code's) and 5.x both load it.
    config_path = OUT / "tokenizer_config.json"
    tokenizer_config = json.loads(config_path.read_text())
    tokenizer_config["tokenizer_class"] = "XLMRobertaTokenizer"
    tokenizer_config.pop("backend", None)
    config_path.write_text(json.dumps(tokenizer_config, indent=2) + "\n")

    torch.manual_seed(0)
    config = XLMRobertaConfig(
        vocab_size=tokenizer.get_vocab_size(),
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        max_position_embeddings=514,
        type_vocab_size=1,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    )
    model = XLMRobertaModel(config)
    model.save_pretrained(OUT)


if __name__ == "__main__":
    main()
