"""Train the creep guard's classifier shipped in `brand_guardrails/checks/creep_model.npz`.

    python -m evals.train_creep

Training data: the cases of `evals/datasets/creep.jsonl` written beside the rules (never the
`fresh`, `held_out` or `sealed` ones, which `autocmo eval` measures), plus template sentences
built here (`template_cases`): sensitive topics said of the reader ("Your {migraines} deserve…",
"Dealing with {debt}?") against the same topics in neutral context ("Our guide to
{migraines}…") and the reader's ordinary things ("Your {order}…"). All of it was written on
this project, so figures on it are optimistic.

Features: the normalised all-MiniLM-L6-v2 embedding of the line. Model: softmax regression
with L2, full-batch gradient descent from zero weights (deterministic). Threshold: from
out-of-fold probabilities (5 folds by hash of the text) on the real cases that are candidates
(`is_candidate`): the lowest probability at which at most `--max-fbr` of the legitimate ones
would block.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np

from brand_guardrails.checks._text import fold
from brand_guardrails.checks.creep import CATEGORIES
from brand_guardrails.checks.creep_model import MODEL_PATH, best_cued, is_candidate

DATASETS = Path(__file__).parent / "datasets"
LABELS = ("none", *CATEGORIES)

# Topics per category: (said of the reader, as a noun phrase after "your"), in EN, then a few
# in DE/FR/ES with their own frames below.
# fmt: off
_TOPICS: dict[str, tuple[str, ...]] = {
    "health": (
        "diabetes", "back pain", "migraines", "arthritis", "anxiety", "asthma",
        "cancer treatment", "knee injury", "IBS", "heart condition", "insomnia", "depression",
        "high blood pressure", "eczema", "hearing loss", "weight problem", "chronic fatigue",
        "recovery from surgery", "allergies", "panic attacks",
    ),
    "pregnancy": (
        "pregnancy", "baby bump", "due date", "third trimester", "morning sickness",
        "baby on the way", "maternity leave", "growing belly", "first pregnancy", "baby shower",
    ),
    "children": (
        "daughter Emma", "son's 8th birthday", "toddler", "10-year-old",
        "twins' first day at school", "teenage son", "little girl Mia", "kids' school run",
        "son Jack's football practice", "daughter's kindergarten",
    ),
    "religion": (
        "Ramadan fast", "faith", "church community", "Shabbat dinner", "Lenten fast",
        "Diwali celebrations", "Friday prayers", "kosher kitchen", "Catholic faith", "mosque",
    ),
    "sexuality": (
        "coming out", "sexual orientation", "same-sex wedding", "gay pride", "bisexuality",
        "life as a lesbian", "queer identity", "transition",
    ),
    "ethnicity": (
        "Mexican heritage", "Irish roots", "African ancestry", "immigrant background",
        "Korean heritage", "Nigerian roots", "ethnic background", "Indian origins",
        "Latino culture", "Turkish family roots",
    ),
    "finances": (
        "debt", "overdraft", "credit score", "unpaid rent", "job loss", "money worries",
        "maxed-out credit card", "late mortgage payments", "tight budget this month",
        "loan rejection", "unemployment",
    ),
    "location": (
        "home on Elm Street", "current location", "hotel room at the Hilton",
        "walk past our Main St store", "flat on Baker Street",
        "commute through Central Station", "trip to Lisbon right now",
        "seat at the airport gate",
    ),
    "age": (
        "60th birthday", "retirement", "senior years", "turning 50", "age", "70 years",
        "pension", "forties",
    ),
}
# fmt: on
_READER_FRAMES = (
    "Your {t} deserves a little comfort: 20% off this week.",
    "We know about your {t}, so we picked these for you.",
    "Dealing with your {t}? Our new range is made for you.",
    "Because of your {t}, you'll love our soft-touch collection.",
    "With your {t} in mind, here's free shipping.",
    "Thinking of your {t}, we saved you a gift.",
)
_NEUTRAL_FRAMES = (
    "Our blog has a new article about {t} this month.",
    "We donate 1% of sales to charities working on {t}.",
    "Read the interview: how one ranger wrote a book on {t}.",
    "The documentary on {t} screens in our flagship store on Friday.",
    "Customers asked us about {t}, so our experts wrote a guide.",
)
_ORDINARY = (
    "order",
    "hiking boots",
    "cart",
    "feedback",
    "rain jacket",
    "loyalty points",
    "tent",
    "size",
    "wishlist",
    "next adventure",
    "weekend plans",
    "morning run",
    "garden",
    "gift list",
    "account",
)
_HARD_NEGATIVES = (
    # ordinary copy with a cue word and the reader in it, said of nobody's traits
    "Find a store near you with our store locator.",
    "Talk to your doctor before starting a new training plan.",
    "Ask your pharmacist about sun protection on long hikes.",
    "Check with your physician before taking supplements.",
    "Is there a shop near you? Check opening hours online.",
    "You're only 10 minutes from checkout.",
    "You're 15% away from free shipping.",
    "Expecting a parcel? Track it in your account.",
    "Better than you'd expect: our lightest tent yet.",
    "Your home delivery slot is confirmed for Tuesday.",
    "Make your home cosy with our wool throws.",
    "Check the trail conditions before you go.",
    "Your order qualifies for free returns within 30 days.",
    "Pay in 3 interest-free instalments on your order.",
    "Your store credit of $20 is waiting for you.",
    "Treat the kids to something new for the holidays.",
    "Shopping for your kids? Sizes run from 2 to 14.",
    "Happy birthday from Northwind! Here is a treat for you.",
    "Celebrate your birthday month with double points.",
    "Your old favourites are back in stock.",
    "Give your old boots a second life with our repair service.",
    "Age-old craftsmanship, made for your next trip.",
    "Stay warm this Christmas with your new fleece.",
    "Your Easter weekend plans need a picnic blanket.",
    "Our Ramadan opening hours: open until midnight near you.",
    "Black Friday is here: your favourites up to 40% off.",
    "Your heart will race on our new trail-running route.",
    "Feel the pain of leaving? Your cart misses you.",
    "Recover faster after your long runs with compression socks.",
    "Your bike deserves a free check-up this weekend.",
    "Budget-friendly picks for your next camping trip.",
    "Your money-back guarantee lasts 100 days.",
    "Your loyalty card now earns points on rentals.",
    "Rent a kayak near your favourite lake.",
    "Your family tent sleeps six.",
    "Our baby carrier won the Parents' Choice award; see why.",
    "Pride month: we donate to LGBTQ+ charities all June.",
    "Your faith in us means a lot: thank you for 10 years.",
    "Heritage collection: your classic jacket, remade.",
    "Our native plants guide for your garden is out.",
    "Ihre Bestellung kommt heute; die Sendungsverfolgung finden Sie im Konto.",
    "Finden Sie ein Geschäft in Ihrer Nähe.",
    "Trouvez une boutique près de chez vous.",
    "Votre anniversaire approche ? Profitez de -10 % ce mois-ci.",
    "Encuentra tu tienda más cercana.",
    "¿Buscas regalos para los niños? Tallas de 2 a 14 años.",
)
_READER_MORE = (
    # said of the reader in other shapes than the frames above
    ("We noticed you've been searching for {t} products lately.", "health", "diabetes"),
    ("Still struggling with {t}? We have something for you.", "finances", "debt"),
    ("Now that you're {t}, our comfort range is for you.", "age", "retired"),
    ("Now that you're {t}, our stretch range is for you.", "pregnancy", "pregnant"),
    ("You and your {t} deserve a weekend away.", "sexuality", "girlfriend, Anna,"),
    ("Hi Maria, as an {t}, you know what home feels like.", "ethnicity", "immigrant"),
    (
        "We see you at {t} every week: here's a coupon for the café next door.",
        "religion",
        "St Mary's church",
    ),
    ("You're at {t} right now: show this message at our kiosk.", "location", "the Eastgate mall"),
    ("Little {t} is growing fast: shop the next size up.", "children", "Leo"),
    ("Congratulations on your {t}!", "pregnancy", "pregnancy"),
    ("Surviving on {t}? Treat yourself anyway.", "finances", "benefits"),
    ("Your doctor mentioned your {t}; our insoles can help.", "health", "flat feet"),
    ("After your {t}, take it slow with our recovery kit.", "health", "operation"),
    ("Your grandchildren will love visiting you in {t}.", "age", "retirement"),
    ("As a {t}, you'll feel at home in our new store.", "sexuality", "gay man"),
    ("Your {t} family will love our Lunar New Year box.", "ethnicity", "Chinese"),
    ("We know you observe {t}, so your delivery comes after sunset.", "religion", "Ramadan"),
    ("Your {t} needs a new school bag.", "children", "8-year-old"),
)
_OTHER_LANG: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    # (label, lang frames said of the reader, topics)
    (
        "health",
        "de",
        (
            "Ihre {t} verdienen eine Pause: 20 % Rabatt.",
            "Leiden Sie unter {t}? Wir haben etwas für Sie.",
        ),
        ("Rückenschmerzen", "Migräne", "Diabetes", "Allergien"),
    ),
    (
        "health",
        "fr",
        (
            "Avec votre {t}, nos produits sont faits pour vous.",
            "Vous souffrez de {t} ? Voici notre sélection.",
        ),
        ("diabète", "migraine", "arthrose", "anxiété"),
    ),
    (
        "health",
        "es",
        ("Con tu {t}, te recomendamos esta colección.", "¿Sufres de {t}? Tenemos algo para ti."),
        ("diabetes", "migraña", "ansiedad", "artritis"),
    ),
    (
        "finances",
        "de",
        ("Ihre {t} drücken? Zahlen Sie in Raten.", "Wegen Ihrer {t} bieten wir Ratenzahlung an."),
        ("Schulden", "Geldsorgen", "Mietschulden"),
    ),
    (
        "finances",
        "fr",
        (
            "Vos {t} vous inquiètent ? Payez en 4 fois.",
            "Avec vos {t}, profitez du paiement en plusieurs fois.",
        ),
        ("dettes", "soucis d'argent", "fins de mois difficiles"),
    ),
    (
        "finances",
        "es",
        ("¿Tus {t} te agobian? Paga a plazos.", "Con tus {t}, te damos facilidades de pago."),
        ("deudas", "problemas de dinero"),
    ),
    (
        "pregnancy",
        "de",
        ("Ihre {t} verdient bequeme Kleidung.", "Für Ihre {t}: unsere neue Kollektion."),
        ("Schwangerschaft", "Babykugel"),
    ),
    (
        "pregnancy",
        "es",
        ("Tu {t} merece ropa cómoda.", "Para tu {t}: nuestra nueva colección."),
        ("embarazo", "barriguita"),
    ),
    (
        "religion",
        "fr",
        ("Pour votre {t}, découvrez notre sélection.", "Votre {t} mérite le meilleur."),
        ("foi", "jeûne du ramadan", "prière du vendredi"),
    ),
    (
        "religion",
        "de",
        ("Für Ihren {t} haben wir etwas Besonderes.", "Ihr {t} verdient das Beste."),
        ("Glauben", "Kirchgang"),
    ),
    (
        "ethnicity",
        "es",
        ("Tus {t} inspiraron esta colección.", "Por tus {t}, te encantará esta línea."),
        ("raíces mexicanas", "orígenes africanos"),
    ),
    (
        "ethnicity",
        "fr",
        ("Vos {t} ont inspiré notre collection.", "Grâce à vos {t}, cette ligne est pour vous."),
        ("origines algériennes", "racines africaines"),
    ),
    (
        "age",
        "de",
        ("Zu Ihrem {t} schenken wir Ihnen 10 %.", "In Ihrem {t} brauchen Sie bequeme Schuhe."),
        ("60. Geburtstag", "Alter", "Ruhestand"),
    ),
    (
        "age",
        "fr",
        ("Pour vos {t}, profitez de -20 %.", "À votre {t}, nos chaussures confort s'imposent."),
        ("60 ans", "âge", "retraite"),
    ),
    (
        "children",
        "de",
        ("Ihr {t} wird unser Zelt lieben.", "Für Ihren {t}: Rucksäcke zum Schulstart."),
        ("Sohn Leon", "zehnjähriger Sohn"),
    ),
    (
        "children",
        "es",
        ("Tu {t} va a adorar nuestra tienda.", "Para tu {t}: mochilas para el cole."),
        ("hija Lucía", "hijo de 7 años"),
    ),
    (
        "location",
        "de",
        ("Ihre {t} ist nur 200 m von uns entfernt.", "Wir sehen, Sie sind gerade am {t}."),
        ("Wohnung in der Lindenstraße", "Hauptbahnhof"),
    ),
    (
        "location",
        "es",
        ("Tu {t} está a 5 minutos de nuestra tienda.", "Estás ahora mismo en {t}: visítanos."),
        ("casa en la calle Mayor", "la estación de Atocha"),
    ),
    (
        "sexuality",
        "de",
        ("Zu Ihrem {t} gratulieren wir herzlich.", "Als {t} werden Sie diese Kollektion lieben."),
        ("Coming-out", "schwuler Mann"),
    ),
    (
        "sexuality",
        "es",
        ("Por tu {t}, te regalamos un 10 %.", "Como {t}, te encantará esta colección."),
        ("salida del armario", "mujer lesbiana"),
    ),
)


def template_cases() -> list[tuple[str, str]]:
    """(text, label) pairs built from the topic lists and frames above."""
    out: list[tuple[str, str]] = []
    for cat, topics in _TOPICS.items():
        for i, t in enumerate(topics):
            for j, frame in enumerate(_READER_FRAMES):
                if (i + j) % 2 == 0:  # half of the grid is enough
                    out.append((frame.format(t=t), cat))
            for j, frame in enumerate(_NEUTRAL_FRAMES):
                if (i + j) % 2 == 0:
                    topic = t.split(" ")[-1] if cat in ("children", "location") else t
                    out.append((frame.format(t=topic), "none"))
    for t in _ORDINARY:
        out += [(frame.format(t=t), "none") for frame in _READER_FRAMES]
    out += [(frame.format(t=t), cat) for frame, cat, t in _READER_MORE]
    for cat, _lang, frames, topics in _OTHER_LANG:
        out += [(frame.format(t=t), cat) for frame in frames for t in topics]
    return out


def real_cases() -> list[tuple[str, str]]:
    """The creep cases written beside the rules, as (text, label)."""
    out: list[tuple[str, str]] = []
    for line in (DATASETS / "creep.jsonl").read_text(encoding="utf-8").splitlines():
        c = json.loads(line)
        if c.get("fresh") or c.get("held_out") or c.get("sealed") or not c.get("train", True):
            continue
        label = c["category"] if c["expect"] == "block" and c["category"] else "none"
        out.append((c["text"], label))
    return out


def fit(x: np.ndarray, y: np.ndarray, *, l2: float = 1e-3, steps: int = 600) -> np.ndarray:
    """Softmax regression with L2 (bias in the last column), gradient descent with momentum
    from zero; class-balanced sample weights."""
    n, d = x.shape
    k = len(LABELS)
    xb = np.hstack([x, np.ones((n, 1), dtype=x.dtype)]).astype(np.float64)
    counts = np.bincount(y, minlength=k).astype(np.float64)
    sw = (n / (k * np.maximum(counts, 1)))[y]
    onehot = np.eye(k)[y]
    w = np.zeros((k, d + 1))
    v = np.zeros_like(w)
    for _ in range(steps):
        z = xb @ w.T
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        grad = ((p - onehot) * sw[:, None]).T @ xb / n
        grad[:, :-1] += l2 * w[:, :-1]
        v = 0.9 * v + grad
        w -= 2.0 * v
    return w


def _predict(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    z = x @ w[:, :-1].T + w[:, -1]
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return np.asarray(p / p.sum(axis=1, keepdims=True))


def _embeddings(texts: list[str], cache: Path | None) -> np.ndarray:
    """MiniLM embeddings of `texts`, read from and added to `cache` when one is given."""
    from brand_guardrails.store import embed

    known: dict[str, np.ndarray] = {}
    if cache is not None and cache.exists():
        with np.load(cache) as z:
            known = dict(zip(z["texts"].tolist(), z["vectors"], strict=True))
    todo = [t for t in dict.fromkeys(texts) if t not in known]
    if todo:
        known.update(zip(todo, embed(todo), strict=True))
        if cache is not None:
            np.savez(cache, texts=np.array(list(known)), vectors=np.stack(list(known.values())))
    return np.stack([known[t] for t in texts])


def _fold(text: str, k: int) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest(), 16) % k


def main(argv: list[str] | None = None) -> int:
    """Train, pick the threshold out of fold, write the weights; print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=MODEL_PATH)
    ap.add_argument("--max-fbr", type=float, default=0.01)
    ap.add_argument(
        "--embedding-cache", type=Path, help="an .npz of embeddings by text, reused if present"
    )
    args = ap.parse_args(argv)
    real = real_cases() + [(text, "none") for text in _HARD_NEGATIVES]
    synth = template_cases()
    texts = [t for t, _ in real + synth]
    y = np.array([LABELS.index(lbl) for _, lbl in real + synth])
    x = _embeddings(texts, args.embedding_cache).astype(np.float64)
    is_real = np.arange(len(texts)) < len(real)
    folds = np.array([_fold(t, 5) for t in texts])
    oof = np.zeros((len(texts), len(LABELS)))
    for f in range(5):
        test = folds == f
        oof[test] = _predict(fit(x[~test], y[~test]), x[test])
    cand = np.array([is_candidate(fold(t)) for t in texts])
    picked = best_cued(LABELS, oof, texts)
    best = np.array([p for _, p in picked])
    guess = np.array([LABELS.index(name) for name, _ in picked])
    legit = is_real & (y == 0)
    blocks = cand & (best >= 0.5)
    threshold = 1.0
    for t in sorted({*np.round(best[legit & blocks], 4).tolist(), 0.5}):
        if np.mean(blocks[legit] & (best[legit] >= t)) <= args.max_fbr:
            threshold = float(t)
            break
    must = is_real & (y > 0)
    hit = cand & (best >= threshold) & (guess == y)
    rec = np.mean(hit[must])
    fbr = np.mean(blocks[legit] & (best[legit] >= threshold))
    w = fit(x, y)
    np.savez_compressed(
        args.out,
        W=w[:, :-1].astype(np.float32),
        b=w[:, -1].astype(np.float32),
        labels=np.array(LABELS),
        threshold=np.float32(threshold),
    )
    print(
        f"cases={len(real)} templates={len(synth)} threshold={threshold:.4f} "
        f"oof_recall_alone={rec:.3f} oof_false_block_rate_alone={fbr:.3f} -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
