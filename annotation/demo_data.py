"""Financial-news headlines for the demo project, written for Tessera (no downloads).

Sentences are composed from our own fragments, so the demo has a few hundred
varied tasks for sentiment classification (as in FinGPT) without shipping a
data set.
"""

import itertools
import random

COMPANIES = [
    "Northwind Bank", "Helios Energy", "Kestrel Motors", "Aster Pharmaceuticals", "Bluefin Logistics",
    "Cobalt Mining Corp", "Orchid Retail Group", "Summit Insurance", "Tanager Semiconductors", "Veridian Foods",
    "Juniper Telecom", "Harbor Real Estate Trust",
]  # fmt: skip

POSITIVE = [
    "{c} beats quarterly earnings estimates as revenue climbs {p}%",
    "{c} raises full-year guidance after strong demand in {r}",
    "{c} shares jump {p}% on record order backlog",
    "Analysts upgrade {c} to buy, citing margin expansion",
    "{c} announces a {p}% dividend increase and a new buyback",
    "{c} wins a multi-year contract with a major {r} customer",
]  # fmt: skip
NEGATIVE = [
    "{c} misses profit forecasts as costs rise {p}%",
    "{c} cuts outlook, blaming weak demand in {r}",
    "{c} shares slide {p}% after regulator opens an inquiry",
    "Rating agency downgrades {c} on rising debt",
    "{c} suspends its dividend to preserve cash",
    "{c} recalls products in {r}, taking a one-off charge",
]  # fmt: skip
NEUTRAL = [
    "{c} to report quarterly results on Thursday",
    "{c} appoints a new chief financial officer",
    "{c} completes the previously announced move of its headquarters",
    "{c} holds its annual shareholder meeting in {r}",
    "{c} confirms talks with {r} partners are ongoing",
    "{c} keeps its full-year guidance unchanged",
]  # fmt: skip
REGIONS = ["Europe", "Asia", "North America", "Latin America", "Japan", "the Middle East"]

LABEL_CONFIG = """<View>
  <Header value="How does this headline read for the company's investors?"/>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" choice="single" showInline="true">
    <Choice value="Positive"/>
    <Choice value="Negative"/>
    <Choice value="Neutral"/>
  </Choices>
</View>"""

INSTRUCTIONS = (
    "Read the headline and pick the sentiment an investor in the named company would feel. "
    "Positive: good news for the share price. Negative: bad news. Neutral: scheduled or factual news."
)


def headlines(count: int = 300, *, seed: int = 7) -> list[dict]:
    """``count`` distinct tasks: {"text", "company"} data with the template's sentiment kept in meta."""
    rng = random.Random(seed)
    rows = []
    seen = set()
    templates = [(t, "Positive") for t in POSITIVE] + [(t, "Negative") for t in NEGATIVE] + [
        (t, "Neutral") for t in NEUTRAL
    ]
    for template, sentiment in itertools.cycle(templates):
        if len(rows) == count:
            break
        company = rng.choice(COMPANIES)
        text = template.format(c=company, p=rng.randint(2, 19), r=rng.choice(REGIONS))
        if text in seen:
            continue
        seen.add(text)
        rows.append({"data": {"text": text, "company": company}, "meta": {"source": "tessera-demo", "template_sentiment": sentiment}})
    return rows
