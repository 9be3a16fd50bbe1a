"""Build the shipped fine-tuning sets from their parts: `python training_data/build.py`.

Deterministic: the same parts give the same files. Parts: medical_cases.yaml (written
for this project), writing_parts.yaml, and the Farsi bot's catalog (bots/data/catalog.yaml),
so every price in the Farsi set is the catalog's. Every fourth example goes to eval.jsonl.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bots.catalog import Catalog  # noqa: E402
from bots.medical import CRISIS, DISCLAIMER, ROUTING  # noqa: E402
from bots.toman import format_toman, persian_digits  # noqa: E402


def _system(bot: str) -> str:
    profile = yaml.safe_load((HERE.parent / "profiles" / f"{bot}.yaml").read_text(encoding="utf-8"))
    return profile["strategies"]["finetuned"]["system_prompt"].strip()


def _chat(system: str, user: str, assistant: str) -> dict:
    return {"messages": [{"role": "system", "content": system}, {"role": "user", "content": user},
                         {"role": "assistant", "content": assistant}]}  # fmt: skip


def medical() -> list[dict]:
    parts = yaml.safe_load((HERE / "medical_cases.yaml").read_text(encoding="utf-8"))
    system = _system("medical")
    examples = []
    for case in parts["cases"]:
        for phrasing in parts["phrasings"]:
            reply = (
                f"{parts['dispositions'][case['d']]}\n{case['info']}\n"
                f"Get help sooner if: {case['warn']}.\n{DISCLAIMER['en']}"
            )
            examples.append(_chat(system, phrasing.format(s=case["s"]), reply))
    for message, number in parts["red_flags"]:
        examples.append(_chat(system, message, ROUTING["en"].format(number=number)))
    examples.append(_chat(system, "I want to end my life", ROUTING["en"].format(number="112") + "\n"
                          + CRISIS["en"].format(line="988")))  # fmt: skip
    for question in parts["dose_questions"]:
        reply = (
            "See a clinician soon (within a day or two).\nI can't advise on doses or on starting or stopping "
            "a medicine: that depends on your health and your other medicines, so please ask a pharmacist "
            f"or the prescriber, who can check them with you.\n{DISCLAIMER['en']}"
        )
        examples.append(_chat(system, question, reply))
    return examples


FA_QUESTIONS = [
    "قیمت {n} چنده؟",
    "سلام، {n} موجود دارید؟",
    "{n} چند؟ گارانتی هم داره؟",
    "ببخشید {n} رو دارید؟ قیمتش چقدره؟",
]


def farsi_retail() -> list[dict]:
    system = _system("farsi_retail")
    examples = []
    for i, product in enumerate(Catalog.shipped().products):
        name = product.aliases[0] if product.aliases else product.name_en
        price = format_toman(product.price_toman)
        if product.in_stock:
            reply = (
                f"{product.name_fa} موجود است.\n"
                f"قیمت: {price}، با {persian_digits(product.warranty_months)} ماه گارانتی.\n"
                "اگر امروز سفارش دهید، حدود دو روز کاری بعد (به‌جز جمعه) به دستتان می‌رسد."
            )
        else:
            reply = (
                f"متأسفانه {product.name_fa} در حال حاضر ناموجود است (قیمت در کاتالوگ: {price}).\n"
                "اگر بخواهید، موجود شدنش را به شما خبر می‌دهیم یا مدل مشابه موجود را پیشنهاد می‌کنم."
            )
        examples.append(_chat(system, FA_QUESTIONS[i % 4].format(n=name), reply))
        if i % 3 == 0:
            stock = "in stock" if product.in_stock else "out of stock at the moment"
            english = (
                f"The {product.name_en} is {stock}.\nPrice: {format_toman(product.price_toman, 'en')}, "
                f"with a {product.warranty_months}-month warranty."
            )
            examples.append(_chat(system, f"How much is the {product.name_en}?", english))
    for missing in ["آیفون ۱۳ مینی", "گلکسی Z Fold 5", "پلی استیشن ۴ پرو", "نوکیا ۳۳۱۰", "سرفیس پرو ۹"]:
        examples.append(_chat(system, f"{missing} دارید؟", f"متأسفانه {missing} در کاتالوگ ما نیست و موجود نداریم. "
                              "اگر بگویید برای چه کاری می‌خواهید، از کالاهای موجود پیشنهاد می‌دهم."))  # fmt: skip
    for amount in ["۵۰ تومن", "۲۰۰ تومن", "۳۰ تومن"]:
        examples.append(_chat(system, f"هدفون تا {amount} دارید؟", f"منظورتان از «{amount}» {amount.split()[0]} هزار "
                              "تومان است یا مبلغ دیگری؟ بگویید تا دقیق پیشنهاد بدهم."))  # fmt: skip
    return examples


def writing() -> list[dict]:
    parts = yaml.safe_load((HERE / "writing_parts.yaml").read_text(encoding="utf-8"))
    system = _system("writing")
    examples = []
    for item in parts["rewrites"]:
        for style, text in item["styles"].items():
            examples.append(_chat(system, f"/rewrite {style} {item['plain']}", text))
    for item in parts["ideas"]:
        numbered = "\n".join(f"{i}. {line}" for i, line in enumerate(item["openings"], start=1))
        examples.append(_chat(system, f"/ideas {item['premise']}", numbered))
    for item in parts["critiques"]:
        examples.append(_chat(system, f"/critique {item['draft']}", item["critique"]))
    return examples


def write(bot: str, examples: list[dict]) -> None:
    folder = HERE / bot
    folder.mkdir(exist_ok=True)
    train = [e for i, e in enumerate(examples) if i % 4 != 3]
    held = [e for i, e in enumerate(examples) if i % 4 == 3]
    for name, rows in (("train.jsonl", train), ("eval.jsonl", held)):
        (folder / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{bot}: {len(train)} train, {len(held)} eval")


if __name__ == "__main__":
    write("medical", medical())
    write("farsi_retail", farsi_retail())
    if (HERE / "writing_parts.yaml").exists():
        write("writing", writing())
