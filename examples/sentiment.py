"""Many-to-one sentiment analysis: an embedding and an LSTM read a review, one number comes out.

The lecture notes' task at full size. Each review is a sequence of word ids;
an ``Embedding`` turns each id into a vector, a recurrent layer (LSTM by
default, or GRU or a simple RNN, optionally bidirectional) reads the vectors
in order, and its final state goes through ``Dropout`` and a ``Linear`` layer to
a logit. Reviews of different lengths share a batch: the ``DataLoader``
buckets them by length and pads with id 0, and ``lengths=`` makes the padded
batch exact (the final state is the state after each review's last word).

A bag-of-words logistic regression (a ``Linear`` layer over word counts) is
trained on the same split in the same run, to show what word order adds.

The generated corpus (``--data generated``, the default) is written by this
script from ``--seed``. Its reviews are built so that the *same words* appear
in positive and negative reviews and only their order and their roles decide
the label:

- a clause is ``the ASPECT was [not] [INTENSIFIER] ADJECTIVE``; its polarity is
  the adjective's, flipped by ``not`` ("the plot was not bad" is positive);
  intensifiers (very, really, ...) change nothing;
- ``C1 but C2`` and ``although C1 , C2``: the second clause decides;
- ``C1 , even though C2``: the first clause decides;
- ``i expected it to be ADJ1 and it was [not] ADJ2``: the outcome decides,
  not the expectation;
- ``C1 and C2``: both clauses agree;
- a single clause decides alone.

In the contrast reviews the two clauses always disagree, so their bag of words
holds one positive and one negative clause whichever the label is; ``not`` is
as frequent in positive as in negative reviews. A bag of words gets little
beyond chance there, while a recurrent network that reads in order learns the
rules.

    python examples/sentiment.py                 or    minigrad run sentiment
    minigrad run sentiment --train ../shared/data/sst2/train.tsv --valid ../shared/data/sst2/dev.tsv
    minigrad run sentiment --save s.npz && minigrad run sentiment --resume s.npz --predict "not bad at all"
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import numpy as np

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.data import DataLoader, Vocab, read_corpus, read_word_vectors, tokenize, train_valid_split, truncate
from minigrad.io import atomic_write, write_text_atomic
from minigrad.metrics import classification_report, format_report, plot_confusion_matrix
from minigrad.runner import FloatRange, OutputPath, Run, example_options

DESCRIPTION = "many-to-one sentiment: an LSTM reads reviews where word order decides; a bag of words cannot"

# -- the generated corpus ----------------------------------------------------------
POSITIVE = ("good", "great", "excellent", "wonderful", "brilliant", "charming", "delightful", "superb")
NEGATIVE = ("bad", "dull", "awful", "boring", "terrible", "weak", "clumsy", "tedious")
ASPECTS = ("plot", "acting", "story", "script", "music", "dialogue", "ending", "cast", "movie", "film")
INTENSIFIERS = ("very", "really", "truly", "quite", "so", "especially", "extremely", "incredibly")
# (template, weight): how often each kind of review is drawn
TEMPLATES = (("single", 0.35), ("and", 0.15), ("but", 0.15), ("although", 0.1), ("even though", 0.1),
             ("expected", 0.15))
NEGATION_RATE = 0.25  # a clause says "not" this often, whatever its polarity
INTENSIFIER_RATE = 0.4


def clause(rng: np.random.Generator, polarity: int, aspect: str) -> list[str]:
    """``the ASPECT was [not] [INTENSIFIER] ADJECTIVE`` with the given polarity (1 positive, 0 negative)."""
    negated = rng.random() < NEGATION_RATE
    adjectives = POSITIVE if polarity != negated else NEGATIVE  # "not" flips the adjective's polarity
    words = ["the", aspect, "was"]
    if negated:
        words.append("not")
    if rng.random() < INTENSIFIER_RATE:
        words.append(str(rng.choice(INTENSIFIERS)))
    return words + [str(rng.choice(adjectives))]


def review(rng: np.random.Generator) -> tuple[str, int]:
    """One generated review and its label (1 positive, 0 negative); see the module docstring."""
    names = [name for name, _ in TEMPLATES]
    weights = np.array([w for _, w in TEMPLATES])
    kind = names[rng.choice(len(names), p=weights / weights.sum())]
    label = int(rng.random() < 0.5)
    a, b = (str(x) for x in rng.choice(ASPECTS, size=2, replace=False))  # two clauses, two aspects
    if kind == "single":
        words = clause(rng, label, a)
    elif kind == "and":  # two clauses that agree
        words = clause(rng, label, a) + ["and"] + clause(rng, label, b)
    elif kind == "but":
        words = clause(rng, 1 - label, a) + ["but"] + clause(rng, label, b)
    elif kind == "although":
        words = ["although"] + clause(rng, 1 - label, a) + [","] + clause(rng, label, b)
    elif kind == "even though":
        words = clause(rng, label, a) + [",", "even", "though"] + clause(rng, 1 - label, b)
    else:  # "expected": the outcome is the opposite of the expectation
        expected = POSITIVE if label == 0 else NEGATIVE
        outcome = clause(rng, label, a)[3:]  # "[not] [INTENSIFIER] ADJECTIVE"
        words = ["i", "expected", "it", "to", "be", str(rng.choice(expected)), "and", "it", "was"] + outcome
    return " ".join(words), label


def generate_corpus(n_train: int, n_valid: int, seed: int) -> tuple[list[str], list[int], list[str], list[int]]:
    """``n_train + n_valid`` distinct generated reviews, the same for the same seed.

    No review text appears twice, so the validation reviews are all unseen in training.
    """
    rng = np.random.default_rng([seed, 2024])
    seen: dict[str, int] = {}
    tries = 0
    while len(seen) < n_train + n_valid:
        text, label = review(rng)
        seen.setdefault(text, label)
        tries += 1
        if tries > 20 * (n_train + n_valid) + 1000:
            raise click.ClickException("the grammar cannot make that many distinct reviews")
    distinct = list(seen)
    texts = [distinct[i] for i in rng.permutation(len(distinct))]  # a random split: the same mix of kinds in both
    labels = [seen[t] for t in texts]
    return texts[:n_train], labels[:n_train], texts[n_train:], labels[n_train:]


def review_kind(text: str) -> str:
    """The template a generated review was made from (one of the names in ``TEMPLATES``)."""
    words = text.split()
    if words[0] == "i":
        return "expected"
    if words[0] == "although":
        return "although"
    if "even" in words:
        return "even though"
    for kind in ("but", "and"):
        if kind in words:
            return kind
    return "single"


# -- real data ------------------------------------------------------------------------
def read_texts(path: str, opts: dict, labels: Any = None, option: str = "--train") -> tuple[list[str], list]:
    """Texts and labels of one ``--train``/``--valid``/``--test`` path (any format ``read_corpus`` reads);
    problems become one-line command-line errors naming the option and the file."""
    if labels is not None and Path(path).is_dir():  # a class folder may hold some of the classes only
        present = sorted(e.name for e in Path(path).iterdir() if e.is_dir() and not e.name.startswith("."))
        unknown = [name for name in present if name not in labels]
        if unknown:
            raise click.ClickException(f"{option}: {path}: the class folders {unknown} are not among the labels "
                                       f"seen in training: {sorted(labels, key=str)}")
        labels = present or labels
    try:
        return read_corpus(path, text_field=opts["text_field"], label_field=opts["label_field"], labels=labels)
    except (OSError, ValueError) as e:
        raise click.ClickException(f"{option}: {e}") from None


def preprocess(texts: Sequence[str], prep: dict) -> list[list[str]]:
    """Tokens of each text: markup cleaned when ``prep["clean_markup"]``, then truncated to ``prep["max_len"]``
    tokens, keeping ``prep["keep"]`` (the end by default: a review's verdict is mostly in its last sentences)."""
    tokens = [tokenize(t, clean=prep.get("clean_markup", False)) for t in texts]
    if prep.get("max_len"):
        tokens = [truncate(t, prep["max_len"], keep=prep.get("keep", "end")) for t in tokens]
    return tokens


def encode_all(vocab: Vocab, token_lists: Sequence[list[str]], where: str) -> list[list[int]]:
    """Ids of each tokenized text; a text without any token is an error naming it."""
    ids = []
    for i, tokens in enumerate(token_lists):
        if not tokens:
            raise click.ClickException(f"{where}: text {i + 1} has no tokens")
        ids.append(vocab.encode(tokens))
    return ids


# -- the models -------------------------------------------------------------------------
CELLS = {"rnn": mg.nn.RNN, "lstm": mg.nn.LSTM, "gru": mg.nn.GRU}


class SentimentRNN(mg.nn.Module):
    """Embedding -> RNN/LSTM/GRU -> one vector per text -> Dropout -> Linear.

    Shapes: ids ``(N, T)`` -> embeddings ``(N, T, E)`` -> outputs ``(N, T, D*H)`` -> one vector
    ``(N, D*H)`` -> logits ``(N, C)`` (C = 1 for two classes, else the class count). The vector is,
    by ``pooling``: ``last``, the final states of the last layer (both directions' side by side);
    ``max`` or ``mean``, the element-wise maximum or mean of the outputs over each text's real steps
    (Keras' ``GlobalMaxPooling1D``/``GlobalAveragePooling1D`` with a mask): for long documents these
    see every step directly, not only through the final state.
    """

    def __init__(self, vocab_size: int, embed: int, hidden: int, outputs: int, cell: str = "lstm",
                 layers: int = 1, bidirectional: bool = False, dropout: float = 0.0, pooling: str = "last") -> None:
        super().__init__()
        self.embedding = mg.nn.Embedding(vocab_size, embed, padding_idx=0)
        self.rnn = CELLS[cell](embed, hidden, num_layers=layers, bidirectional=bidirectional,
                               dropout=dropout if layers > 1 else 0.0)
        self.dropout = mg.nn.Dropout(dropout)
        self.out = mg.nn.Linear(hidden * (2 if bidirectional else 1), outputs)
        self.pooling = pooling

    def forward(self, ids: Any, lengths: Any) -> mg.Tensor:
        output, h_n = self.rnn(self.embedding(ids), lengths=lengths)
        if self.pooling != "last":
            return self.out(self.dropout(pool(output, lengths, self.pooling)))
        if isinstance(h_n, tuple):  # LSTM: (h_n, c_n)
            h_n = h_n[0]
        D = self.rnn.num_directions
        final = h_n[-1] if D == 1 else mg.concat([h_n[-2], h_n[-1]], axis=-1)  # last layer, both directions
        return self.out(self.dropout(final))


def pool(output: mg.Tensor, lengths: Any, how: str) -> mg.Tensor:
    """``output (N, T, F)`` -> ``(N, F)``: the maximum or the mean over each row's first ``lengths[n]`` steps."""
    T = output.shape[1]
    real = np.arange(T)[None, :] < np.asarray(lengths).reshape(-1, 1)  # (N, T): False at padding
    if how == "max":
        return (output + mg.tensor(np.where(real, 0.0, -np.inf)[..., None], dtype=output.dtype)).max(axis=1)
    counts = mg.tensor(real.sum(axis=1, keepdims=True), dtype=output.dtype)
    return (output * mg.tensor(real[..., None], dtype=output.dtype)).sum(axis=1) / counts


def word_counts(id_lists: Sequence[np.ndarray], vocab_size: int) -> np.ndarray:
    """Bag-of-words count vectors ``(N, V)`` (float32): ``counts[n, v]`` = how often word v is in text n."""
    rows = np.repeat(np.arange(len(id_lists)), [len(ids) for ids in id_lists])
    flat = rows * vocab_size + np.concatenate(id_lists)
    counts = np.bincount(flat, minlength=len(id_lists) * vocab_size).astype(np.float32)
    return counts.reshape(len(id_lists), vocab_size)


def loss_and_predictions(logits: mg.Tensor, y: np.ndarray) -> tuple[mg.Tensor, np.ndarray]:
    """The loss (BCE with logits for one output, else cross-entropy) and the predicted class ids."""
    if logits.shape[-1] == 1:
        loss = F.binary_cross_entropy_with_logits(logits, y.reshape(-1, 1).astype(np.float32))
        predicted = (logits.numpy()[:, 0] > 0).astype(np.int64)
    else:
        loss = F.cross_entropy(logits, y)
        predicted = logits.numpy().argmax(axis=-1)
    return loss, predicted


def probabilities(logits: mg.Tensor) -> np.ndarray:
    """Class probabilities ``(N, C)`` from logits ``(N, 1)`` (sigmoid) or ``(N, C)`` (softmax)."""
    if logits.shape[-1] == 1:
        p = logits.sigmoid().numpy()[:, 0]
        return np.stack([1 - p, p], axis=-1)
    return F.softmax(logits, axis=-1).numpy()


def train_bag_of_words(train_ids: list[np.ndarray], train_y: np.ndarray, valid_ids: list[np.ndarray],
                       valid_y: np.ndarray, vocab_size: int, outputs: int, seed: int, lr: float = 0.05,
                       batch_size: int = 512, steps: int = 400) -> tuple[mg.nn.Linear, float, np.ndarray]:
    """Logistic regression on word counts (a ``Linear`` layer), trained with Adam for about ``steps`` steps.

    Returns:
        ``(model, training accuracy, validation predictions)``.
    """
    model = mg.nn.Linear(vocab_size, outputs)
    opt = mg.optim.Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng([seed, 99])
    n = len(train_ids)
    batches = -(-n // batch_size)
    for _ in range(min(30, max(2, -(-steps // batches)))):  # whole epochs, at least 2
        order = rng.permutation(n)
        for k in range(0, n, batch_size):
            index = order[k:k + batch_size]
            counts = word_counts([train_ids[i] for i in index], vocab_size)
            loss, _ = loss_and_predictions(model(mg.tensor(counts)), train_y[index])
            opt.zero_grad()
            loss.backward()
            opt.step()

    def predictions(ids: list[np.ndarray], y: np.ndarray) -> np.ndarray:
        out = []
        with mg.no_grad():
            for k in range(0, len(ids), batch_size):
                counts = word_counts(ids[k:k + batch_size], vocab_size)
                out.append(loss_and_predictions(model(mg.tensor(counts)), y[k:k + batch_size])[1])
        return np.concatenate(out)

    train_accuracy = float((predictions(train_ids, train_y) == train_y).mean())
    return model, train_accuracy, predictions(valid_ids, valid_y)


def predict_all(model: SentimentRNN, loader: DataLoader, run: Run | None = None) -> np.ndarray:
    """The predicted class of every example of ``loader``'s dataset, in dataset order (eval mode, no graph).

    With ``run`` (``--distributed``), each rank predicts its shard of every batch and the predictions are
    summed over ranks into one array: every rank gets all of them, each computed once.
    """
    model.eval()
    predictions = np.zeros(loader.num_examples, dtype=np.int64)
    shard = run.shard(loader) if run is not None else loader
    with mg.no_grad():
        for index, (ids, lengths, y) in zip(shard.batch_indices(), shard):
            if len(index):
                predictions[index] = loss_and_predictions(model(ids, lengths), y)[1]
    model.train()
    return run.all_reduce(predictions) if run is not None else predictions


# -- plot and prediction ------------------------------------------------------------------
def plot_curves(path: str, history: list[dict], bow_accuracy: float, cell: str) -> None:
    """Validation accuracy per epoch, the training accuracy and the bag-of-words baseline."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    epochs = [h["epoch"] for h in history]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(epochs, [h["valid_accuracy"] for h in history], "o-", label=f"{cell}, validation")
    ax.plot(epochs, [h["train_accuracy"] for h in history], ".--", label=f"{cell}, training (during the epoch)")
    ax.axhline(bow_accuracy, color="gray", linestyle=":", label="bag of words, validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0.4, 1.01)
    ax.set_title("sentiment: word order matters")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="center right")
    fig.tight_layout()
    with atomic_write(path, "wb", who="--plot") as f:
        fig.savefig(f, format="png", dpi=100)
    plt.close(fig)


def class_names(classes: list) -> list[str]:
    """Readable names: 0/1 labels are negative/positive, others are shown as they are."""
    return ["negative", "positive"] if classes == [0, 1] else [str(c) for c in classes]


def load_for_prediction(run: Run, opts: dict, option: str) -> tuple[SentimentRNN, Vocab, list, dict]:
    """``(model in eval mode, vocabulary, classes, preprocessing)`` from the ``--resume`` checkpoint alone."""
    if not opts["resume"]:
        raise click.UsageError(f"{option} needs a checkpoint: --resume PATH (write one with --save PATH)")
    extra = run.checkpoint.get("extra", {})
    if "vocab" not in extra or "config" not in extra:
        raise click.ClickException(f"{opts['resume']} holds no vocabulary: it was not saved by this example")
    vocab, config, classes = Vocab(extra["vocab"]), extra["config"], list(extra["classes"])
    model = SentimentRNN(len(vocab), **config)
    run.track(model=model, extra=extra, training=False)  # no training: --epochs does not matter
    return model.eval(), vocab, classes, dict(extra.get("preprocess", {}))


def predict(run: Run, texts: Sequence[str], opts: dict) -> None:
    """Classify ``texts`` with the model saved in ``--resume``; prints one probability per text."""
    model, vocab, classes, prep = load_for_prediction(run, opts, "--predict")
    names = class_names(classes)
    for text, tokens in zip(texts, preprocess(texts, prep)):
        ids = vocab.encode(tokens)
        if not ids:
            raise click.UsageError(f"--predict {text!r}: the text has no words")
        with mg.no_grad():
            p = probabilities(model([ids], [len(ids)]))[0]
        best = int(p.argmax())
        unknown = sum(i == mg.data.UNK_ID for i in ids)
        note = f"  ({unknown} unknown word{'s' * (unknown != 1)})" if unknown else ""
        if len(classes) == 2:
            shown = f"p({names[1]}) {p[1]:.3f}"
        else:
            shown = "  ".join(f"p({n}) {q:.3f}" for n, q in zip(names, p))
        click.echo(f"{shown}  -> {names[best]}: {text!r}{note}")


def predict_file(run: Run, opts: dict) -> None:
    """Classify each line of ``--predict-file`` with the ``--resume`` model; write a TSV to ``--output`` or stdout.

    Columns: ``label`` (the most probable class), one ``p_<class>`` per class, and the text. An empty line
    or one without any word gets no prediction: its label is empty and its probabilities are ``nan``.
    """
    model, vocab, classes, prep = load_for_prediction(run, opts, "--predict-file")
    path = opts["predict_file"]
    try:
        texts = Path(path).read_text(encoding="utf-8-sig").splitlines()  # a byte-order mark is not text
    except UnicodeDecodeError as e:
        raise click.ClickException(f"--predict-file {path}: not UTF-8 text (byte offset {e.start})") from None
    ids = [vocab.encode(tokens) for tokens in preprocess(texts, prep)]
    scored = [k for k, i in enumerate(ids) if i]
    if not scored:
        why = "no line has a word" if texts else "the file is empty"
        raise click.ClickException(f"--predict-file {path}: {why}")
    p = np.full((len(texts), len(classes)), np.nan)
    loader = DataLoader([(ids[k], 0) for k in scored], batch_size=256, shuffle=False)
    with mg.no_grad():
        for index, (batch, lengths, _) in zip(loader.batch_indices(), loader):
            p[np.asarray(scored)[index]] = probabilities(model(batch, lengths))
    names = [str(c) for c in classes]
    lines = ["\t".join(["label", *(f"p_{n}" for n in names), "text"])]
    for k, text in enumerate(texts):
        label = names[int(p[k].argmax())] if k in set(scored) else ""
        lines.append("\t".join([label, *(f"{q:.6f}" for q in p[k]), text.replace("\t", " ")]))
    out = "\n".join(lines) + "\n"
    if opts["output"]:
        with run.writing("--output", opts["output"]):
            write_text_atomic(opts["output"], out)
        run.echo(f"predictions for {len(texts)} lines ({len(texts) - len(scored)} without words): {opts['output']}")
    else:
        click.echo(out, nl=False)


def load_embeddings(run: Run, model: SentimentRNN, vocab: Vocab, opts: dict) -> None:
    """Start the embedding from ``--embeddings`` word vectors; words they lack keep their random start."""
    weight = model.embedding.weight
    try:
        matrix, found = read_word_vectors(opts["embeddings"], vocab, init=weight.numpy(), dim=weight.shape[1])
    except (OSError, ValueError) as e:
        raise click.ClickException(f"--embeddings: {e} (--embed is {weight.shape[1]})") from None
    weight.data[...] = matrix
    run.echo(f"embeddings: {opts['embeddings']}: vectors for {found} of {len(vocab) - 2} words "
             f"({found / max(len(vocab) - 2, 1):.1%}){', frozen' if opts['freeze_embeddings'] else ''}")


def evaluate_test(run: Run, model: SentimentRNN, vocab: Vocab, classes: list, prep: dict, opts: dict) -> dict:
    """Accuracy, per-class precision, recall and F1 and the confusion matrix on ``--test``; printed and returned."""
    texts, labels = read_texts(opts["test_path"], opts, labels=set(classes), option="--test")
    ids = encode_all(vocab, preprocess(texts, prep), opts["test_path"])
    class_index = {c: i for i, c in enumerate(classes)}
    y = np.array([class_index[c] for c in labels], dtype=np.int64)
    loader = DataLoader(list(zip(ids, y)), batch_size=256, shuffle=False)
    report = classification_report(y, predict_all(model, loader), class_names(classes))
    run.echo(f"\ntest: {opts['test_path']}: {len(y)} texts, accuracy {report['accuracy']:.4f}")
    run.echo(format_report(report))
    return report


def evaluate_only(run: Run, opts: dict) -> None:
    """``--resume CKPT --test PATH`` without ``--train``: evaluate the saved model, no training."""
    model, vocab, classes, prep = load_for_prediction(run, opts, "--test")
    report = evaluate_test(run, model, vocab, classes, prep, opts)
    if run.plot_path:
        with run.writing("--plot"):
            plot_confusion_matrix(run.plot_path, report)
        run.echo(f"plot: {run.plot_path} (the --test confusion matrix)")
    run.finish(f"sentiment: {opts['resume']} test accuracy {report['accuracy']:.3f} on {opts['test_path']}",
               test_accuracy=report["accuracy"], test=report, data=opts["test_path"], classes=classes)


def confusion_plot_path(plot: str) -> str:
    """Where ``--plot out.png`` puts the ``--test`` confusion matrix: ``out.confusion.png``."""
    path = Path(plot)
    return str(path.with_name(f"{path.stem}.confusion{path.suffix or '.png'}"))


# -- pieces of the command ---------------------------------------------------------------
# parameter -> option
MODEL_OPTIONS = {"cell": "--model", "embed": "--embed", "hidden": "--hidden", "layers": "--layers",
                 "bidirectional": "--bidirectional", "dropout": "--dropout", "pooling": "--pooling"}


def accuracy_by_kind(texts: list[str], y: np.ndarray, predictions: np.ndarray, bow_predictions: np.ndarray) -> dict:
    """``{kind: {count, valid_accuracy, bow_valid_accuracy, example}}`` for generated reviews."""
    kinds = np.array([review_kind(t) for t in texts])
    table = {}
    for kind, _ in TEMPLATES:
        rows = np.flatnonzero(kinds == kind)
        if len(rows):
            table[kind] = {"count": len(rows), "valid_accuracy": float((predictions[rows] == y[rows]).mean()),
                           "bow_valid_accuracy": float((bow_predictions[rows] == y[rows]).mean()),
                           "example": texts[rows[0]]}
    return table


def load_texts(opts: dict) -> tuple[bool, str, list[str], list, list[str], list]:
    """``(from files?, description, train texts, train labels, valid texts, valid labels)``."""
    files = opts["train_path"] is not None or opts["valid_path"] is not None or opts["data"] == "files"
    if not files:
        for option in ("valid_split", "test_path", "max_len", "embeddings"):
            if opts[option] is not None:
                flag = "--" + option.removesuffix("_path").replace("_", "-")
                raise click.UsageError(f"{flag} applies to data from files: give --train PATH")
        return (False, f"generated (seed {opts['seed']})",
                *generate_corpus(opts["train_size"], opts["valid_size"], opts["seed"]))
    if not opts["train_path"]:
        raise click.UsageError("data from files needs --train PATH (a file or a folder with a subfolder per class)")
    if opts["valid_path"] and opts["valid_split"] is not None:
        raise click.UsageError("give either --valid PATH or --valid-split FRACTION, not both")
    if not opts["valid_path"] and opts["valid_split"] is None:
        raise click.UsageError("data from files needs validation data: --valid PATH, or --valid-split FRACTION "
                               "to hold out part of --train")
    texts, labels = read_texts(opts["train_path"], opts)
    if opts["valid_path"]:
        valid_texts, valid_labels = read_texts(opts["valid_path"], opts, labels=set(labels), option="--valid")
        return True, f"{opts['train_path']} / {opts['valid_path']}", texts, labels, valid_texts, valid_labels
    try:
        split = train_valid_split(texts, labels, opts["valid_split"], seed=opts["seed"])
    except ValueError as e:
        raise click.UsageError(f"--valid-split: {e}") from None
    if not split[0] or not split[2]:  # a class needs two texts to give one to each side
        raise click.UsageError(
            f"--valid-split {opts['valid_split']:g} of {opts['train_path']} "
            f"({len(texts)} text{'s' * (len(texts) != 1)}) leaves "
            f"{len(split[0])} training and {len(split[2])} validation texts: each label needs at least 2 texts "
            "to be split; give more data, or --valid PATH")
    return True, f"{opts['train_path']} (validation: {opts['valid_split']:g} of it, seed {opts['seed']})", *split


def vocab_and_config(run: Run, opts: dict, train_tokens: list[list[str]], classes: list) -> tuple[Vocab, dict]:
    """The vocabulary and the model's architecture: new ones, or the ``--resume`` checkpoint's."""
    if opts["resume"]:
        saved = run.checkpoint.get("extra", {})
        if "vocab" not in saved or "config" not in saved:
            raise click.ClickException(f"{opts['resume']} holds no vocabulary: it was not saved by this example")
        check_same_config({"pooling": "last", **saved["config"]}, opts)
        check_vocab_options(saved, opts)
        if list(saved["classes"]) != classes:
            hint = ("" if opts["train_path"] else
                    "; this run has the generated corpus: give the --train data the checkpoint was trained on")
            raise click.ClickException(f"--resume: the checkpoint's labels are {list(saved['classes'])}, "
                                       f"the training data's are {classes}{hint}")
        return Vocab(saved["vocab"]), dict(saved["config"])
    config = {"cell": opts["cell"], "embed": opts["embed"], "hidden": opts["hidden"],
              "outputs": 1 if len(classes) == 2 else len(classes), "layers": opts["layers"],
              "bidirectional": opts["bidirectional"], "dropout": opts["dropout"], "pooling": opts["pooling"]}
    return Vocab.build(train_tokens, min_freq=opts["min_freq"], max_size=opts["max_vocab"]), config


# options that build the vocabulary: a resumed model keeps the checkpoint's, so they cannot take effect
VOCAB_OPTIONS = {"max_vocab": "--max-vocab", "min_freq": "--min-freq"}
MOSTLY_UNKNOWN = 0.5  # refuse --resume training data whose tokens are mostly outside the vocabulary


def check_vocab_options(saved: dict, opts: dict) -> None:
    """On ``--resume``, a vocabulary option given on the command line is refused: the vocabulary is the
    checkpoint's (its size and, where it was recorded, the value it was built with are named)."""
    ctx = click.get_current_context()
    for key, flag in VOCAB_OPTIONS.items():
        if ctx.get_parameter_source(key) is click.core.ParameterSource.COMMANDLINE:
            made = saved.get("vocab_options", {})
            was = "" if key not in made else f" (it was built with {flag} {made[key]})" if made[key] is not None \
                else f" (it was built with no {flag})"
            raise click.UsageError(f"{flag} {opts[key]} cannot take effect with --resume: the model keeps the "
                                   f"checkpoint's vocabulary of {len(saved['vocab'])} words{was}; leave {flag} out")


def check_known_tokens(vocab: Vocab, ids: Sequence[list[int]], where: str, resume: str) -> None:
    """Refuse training data that the ``--resume`` vocabulary mostly does not know (over `MOSTLY_UNKNOWN`
    of its tokens, encoded as ``ids``, read as ``<unk>``): another corpus than the checkpoint's."""
    total = sum(len(i) for i in ids)
    unknown = sum(1 for i in ids for t in i if t == mg.data.UNK_ID)
    if total and unknown / total > MOSTLY_UNKNOWN:
        raise click.ClickException(
            f"--resume {resume}: {unknown / total:.0%} of the tokens of {where} are not in the checkpoint's "
            f"vocabulary of {len(vocab)} words (they would all read as <unk>): give the --train data the "
            "checkpoint was trained on")


def check_same_config(saved: dict, opts: dict) -> None:
    """On ``--resume``, an architecture option given on the command line must match the checkpoint's."""
    ctx = click.get_current_context()
    for key, flag in MODEL_OPTIONS.items():
        source = ctx.get_parameter_source(key)
        if source is click.core.ParameterSource.COMMANDLINE and opts[key] != saved[key]:
            raise click.UsageError(f"--resume: the checkpoint's model was trained with {flag} {saved[key]}, "
                                   f"the command line asks for {flag} {opts[key]}")


# -- the command -------------------------------------------------------------------------
# options that only a training run reads: a checkpoint used for prediction or evaluation fixes them
CHECKPOINT_FIXES = (*MODEL_OPTIONS, "lr", "batch_size", "clip", "epochs", "max_vocab", "min_freq", "data",
                    "valid_split", "train_size", "valid_size", "max_len", "keep", "clean_markup",
                    "freeze_embeddings")


def check_options(opts: dict) -> None:
    """Refuse, before any work, options that this command line would ignore or that name no file."""
    ctx = click.get_current_context()

    def typed(key: str) -> bool:
        return ctx.get_parameter_source(key) is click.core.ParameterSource.COMMANDLINE

    for key, flag in (("train_path", "--train"), ("valid_path", "--valid"), ("test_path", "--test"),
                      ("embeddings", "--embeddings")):
        if opts[key] and not Path(opts[key]).exists():
            raise click.UsageError(f"{flag} {opts[key]}: no such file or folder")
    if opts["predict_texts"] and opts["predict_file"]:
        raise click.UsageError("give --predict TEXT or --predict-file FILE, not both")
    output, source = (Path(opts[k]).resolve() if opts[k] else None for k in ("output", "predict_file"))
    if output is not None and output == source:
        raise click.UsageError(f"--output {opts['output']} is the --predict-file itself: it would be overwritten")
    if opts["output"] and not opts["predict_file"]:
        raise click.UsageError("--output is where --predict-file writes: give --predict-file FILE too")
    predicting = "--predict" if opts["predict_texts"] else "--predict-file" if opts["predict_file"] else None
    evaluating = opts["test_path"] and opts["resume"] and not opts["train_path"]
    if typed("data") and opts["data"] == "generated" and (opts["train_path"] or opts["valid_path"]):
        raise click.UsageError("--data generated contradicts --train/--valid: leave --data out, or give "
                               "--data files")
    mode = predicting or ("--test with --resume and no --train" if evaluating else None)
    if mode and opts["distributed"]:
        raise click.UsageError(f"--distributed trains on several processes; {mode} runs in one: leave it out")
    for key in CHECKPOINT_FIXES if mode else ():
        if typed(key):
            flag = "--" + {"cell": "model"}.get(key, key).replace("_", "-")
            raise click.UsageError(f"{flag} does not apply to {mode}: the --resume checkpoint fixes the model, "
                                   "its training and its preprocessing")
    ignored = (("save", "--save"), ("plot", "--plot"), ("metrics", "--metrics"), ("train_path", "--train"),
               ("valid_path", "--valid"), ("test_path", "--test"), ("embeddings", "--embeddings"))
    for key, flag in ignored if predicting else ():
        if opts[key]:
            raise click.UsageError(f"{flag} does not apply to {predicting}, which only classifies with the "
                                   f"--resume model")
    if opts["test_path"] and opts["resume"] and not opts["train_path"] and opts["save"]:
        raise click.UsageError("--save: --resume with --test and no --train evaluates the checkpoint; "
                               "it trains nothing to save")
    if opts["embeddings"] and opts["resume"]:
        raise click.UsageError("--embeddings starts a new model; a --resume model keeps its own embedding")
    if opts["freeze_embeddings"] and not opts["embeddings"]:
        raise click.UsageError("--freeze-embeddings needs --embeddings FILE")
    if typed("keep") and not opts["max_len"]:
        raise click.UsageError("--keep chooses which tokens --max-len keeps: give --max-len N too")
    files = opts["train_path"] or opts["valid_path"] or opts["data"] == "files"
    for key, flag, applies in (("train_size", "--train-size", not files), ("valid_size", "--valid-size", not files),
                               ("text_field", "--text-field", files), ("label_field", "--label-field", files)):
        if typed(key) and not applies:
            where = "the generated corpus, not to --train data" if files else "data from files: give --train PATH"
            raise click.UsageError(f"{flag} applies to {where}")


@click.command()
@example_options(epochs=5)
@click.option("--data", type=click.Choice(["generated", "files"]), default="generated", show_default=True,
              help="The generated corpus, or --train/--valid data (chosen when --train is given).")
@click.option("--train", "train_path", type=click.Path(),
              help="Training data: a .tsv/.csv file with 'sentence' or 'text' and 'label' columns, a .jsonl file "
                   "(one JSON object per line), any of them .gz, or a folder with one subfolder per class.")
@click.option("--valid", "valid_path", type=click.Path(), help="Validation data, in any --train format.")
@click.option("--valid-split", type=FloatRange(0, 1, min_open=True, max_open=True),
              help="Without --valid: hold out this fraction of --train (per class, seeded by --seed).")
@click.option("--test", "test_path", type=click.Path(),
              help="After training, report accuracy, per-class precision, recall and F1 and the confusion matrix "
                   "on this data (any --train format).")
@click.option("--text-field", help="The text column or JSON field (default: 'sentence' or 'text').")
@click.option("--label-field", default="label", show_default=True, help="The label column or JSON field.")
@click.option("--max-len", type=click.IntRange(min=1),
              help="Keep at most this many tokens of each text (see --keep); long documents train faster.")
@click.option("--keep", type=click.Choice(["end", "start"]), default="end", show_default=True,
              help="Which tokens --max-len keeps: a review's verdict is mostly at its end.")
@click.option("--clean-markup", is_flag=True,
              help="Read HTML line breaks and entities as text and drop other tags (IMDB reviews have <br />).")
@click.option("--embeddings", type=click.Path(dir_okay=False),
              help="Pretrained word vectors (GloVe or word2vec text format, .gz allowed) to start the embedding "
                   "from; --embed must be their size.")
@click.option("--freeze-embeddings", is_flag=True, help="Keep the --embeddings vectors fixed during training.")
@click.option("--pooling", type=click.Choice(["last", "max", "mean"]), default="last", show_default=True,
              help="What the classifier reads: the final states, or the max or mean of the outputs over time.")
@click.option("--train-size", default=3000, show_default=True, type=click.IntRange(min=2),
              help="Generated training reviews.")
@click.option("--valid-size", default=1000, show_default=True, type=click.IntRange(min=1),
              help="Generated validation reviews.")
@click.option("--model", "cell", default="lstm", show_default=True, type=click.Choice(sorted(CELLS)),
              help="Recurrent layer.")
@click.option("--bidirectional", is_flag=True, help="Read each review in both directions.")
@click.option("--embed", default=32, show_default=True, type=click.IntRange(min=1), help="Embedding size E.")
@click.option("--hidden", default=64, show_default=True, type=click.IntRange(min=1), help="Hidden units H.")
@click.option("--layers", default=1, show_default=True, type=click.IntRange(min=1), help="Stacked layers.")
@click.option("--dropout", default=0.0, show_default=True, type=FloatRange(0, 1, max_open=True),
              help="Dropout before the output layer (and between layers).")
@click.option("--lr", default=1e-2, show_default=True, type=FloatRange(min=0, min_open=True),
              help="Adam learning rate.")
@click.option("--batch-size", default=128, show_default=True, type=click.IntRange(min=1), help="Reviews per batch.")
@click.option("--clip", default=1.0, show_default=True, type=FloatRange(min=0, min_open=True),
              help="Gradient clipping: the largest gradient norm.")
@click.option("--max-vocab", type=click.IntRange(min=2), help="Keep the most frequent words (with <pad>, <unk>).")
@click.option("--min-freq", default=1, show_default=True, type=click.IntRange(min=1),
              help="Keep words seen at least this often in training.")
@click.option("--predict", "predict_texts", multiple=True,
              help="Classify this text with the --resume checkpoint (repeatable); no training.")
@click.option("--predict-file", type=click.Path(dir_okay=False, exists=True),
              help="Classify each line of this file with the --resume checkpoint; writes a TSV of probabilities.")
@click.option("--output", type=OutputPath(), help="Where --predict-file writes (default: stdout).")
def main(**opts: Any) -> None:
    """Sentiment analysis with a recurrent network, next to a bag-of-words baseline."""
    started = time.perf_counter()
    check_options(opts)
    with Run("sentiment", **opts) as run:
        if opts["predict_texts"]:
            predict(run, opts["predict_texts"], opts)
            return
        if opts["predict_file"]:
            predict_file(run, opts)
            return
        if opts["test_path"] and opts["resume"] and not opts["train_path"]:
            evaluate_only(run, opts)
            return
        files, source, train_texts, train_labels, valid_texts, valid_labels = load_texts(opts)
        classes = sorted(set(train_labels), key=lambda c: (str(type(c)), c))
        if len(classes) < 2:
            raise click.ClickException(f"the training data has a single label {classes}: nothing to learn")
        if opts["test_path"]:  # read now too, so that a bad --test file is reported before training
            read_texts(opts["test_path"], opts, labels=set(classes), option="--test")
        prep = {"clean_markup": opts["clean_markup"], "max_len": opts["max_len"], "keep": opts["keep"]}
        train_tokens = preprocess(train_texts, prep)
        valid_tokens = preprocess(valid_texts, prep)
        vocab, config = vocab_and_config(run, opts, train_tokens, classes)
        train_ids = encode_all(vocab, train_tokens, opts["train_path"] or "generated training data")
        if opts["resume"]:
            check_known_tokens(vocab, train_ids, opts["train_path"] or "the generated training data",
                               opts["resume"])
        valid_ids = encode_all(vocab, valid_tokens, opts["valid_path"] or "generated validation data")
        class_index = {c: i for i, c in enumerate(classes)}
        train_y = np.array([class_index[c] for c in train_labels], dtype=np.int64)
        valid_y = np.array([class_index[c] for c in valid_labels], dtype=np.int64)
        run.echo(f"data: {source}: {len(train_ids)} training and {len(valid_ids)} validation texts, "
                 f"labels {classes}")
        run.echo(f"vocabulary: {len(vocab)} words (with <pad> = 0 and <unk> = 1); "
                 f"example: {' '.join(train_tokens[0][:12])!r} -> {train_ids[0][:12]}")

        # the models
        model = SentimentRNN(len(vocab), **config)
        if opts["embeddings"] and not opts["resume"]:
            load_embeddings(run, model, vocab, opts)
        model.embedding.weight.requires_grad = not opts["freeze_embeddings"]
        opt = mg.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=opts["lr"])
        n_params = sum(p.numel() for p in model.parameters())
        run.echo(f"model: {model.embedding}, {model.rnn}, {model.dropout}, {model.out}: {n_params} parameters")
        extra = run.track(model=model, optimizer=opt, extra={"vocab": list(vocab.itos), "config": config,
                                                             "classes": classes, "preprocess": prep,
                                                             "vocab_options": {k: opts[k] for k in VOCAB_OPTIONS}})
        if opts["resume"]:
            run.echo(f"resumed from {opts['resume']} after epoch {run.start_epoch}")

        bow_started = time.perf_counter()
        _, bow_train_accuracy, bow_predictions = train_bag_of_words(
            [np.asarray(i) for i in train_ids], train_y, [np.asarray(i) for i in valid_ids], valid_y,
            len(vocab), config["outputs"], opts["seed"])
        bow_accuracy = float((bow_predictions == valid_y).mean())
        bow_time = time.perf_counter() - bow_started
        run.echo(f"bag of words (logistic regression on word counts): validation accuracy {bow_accuracy:.4f}, "
                 f"training accuracy {bow_train_accuracy:.4f} ({bow_time:.1f} s)")

        # padded batches of reviews of similar lengths
        train_loader = DataLoader(list(zip(train_ids, train_y)), batch_size=opts["batch_size"], seed=opts["seed"])
        shard = run.shard(train_loader)  # --distributed: this rank's rows of each batch (the loader itself without)
        valid_loader = DataLoader(list(zip(valid_ids, valid_y)), batch_size=256, shuffle=False)
        padding = train_loader.padding_fraction(0)
        padding_unbucketed = DataLoader(list(zip(train_ids, train_y)), batch_size=opts["batch_size"],
                                        seed=opts["seed"], bucket_by_length=False).padding_fraction(0)
        run.echo(f"batches: {len(train_loader)} per epoch of {opts['batch_size']}; padding {padding:.1%} of "
                 f"the positions when bucketed by length ({padding_unbucketed:.1%} without bucketing)")

        train_time = 0.0
        for epoch in run.epochs():
            epoch_started = time.perf_counter()
            shard.set_epoch(epoch)  # the batches of an epoch depend on --seed and the epoch only
            total_loss = correct = 0.0
            batches = run.progress(shard, label=f"epoch {epoch + 1}", length=len(shard),
                                   count=lambda batch: int(np.sum(batch[1])))
            for step, (ids, lengths, y) in enumerate(batches, start=1):
                opt.zero_grad()
                if len(y):  # --distributed: a short last batch may leave this rank no review
                    loss, predicted = loss_and_predictions(model(ids, lengths), y)
                    run.check_loss(loss.item(), epoch, step)
                    loss.backward()
                    total_loss += loss.item() * len(y)
                    correct += int((predicted == y).sum())
                run.allreduce_gradients(model.parameters(), weight=len(y))  # then clip the global gradient
                mg.nn.clip_grad_norm_(model.parameters(), opts["clip"])
                opt.step()
            sums = run.reduce_sums(loss=total_loss, correct=correct)
            seconds = time.perf_counter() - epoch_started
            train_time += seconds
            accuracy = float((predict_all(model, valid_loader, run) == valid_y).mean())
            run.log(epoch, loss=sums["loss"] / len(train_y), train_accuracy=sums["correct"] / len(train_y),
                    valid_accuracy=accuracy, seconds=round(seconds))

        predictions = predict_all(model, valid_loader, run)
        valid_accuracy = float((predictions == valid_y).mean())
        best = max(run.history, key=lambda h: h["valid_accuracy"], default={"epoch": 0, "valid_accuracy": 0.0})
        name = ("bi" if config["bidirectional"] else "") + config["cell"]
        by_kind = None
        if not files:
            by_kind = accuracy_by_kind(valid_texts, valid_y, predictions, bow_predictions)
            run.echo(f"\nvalidation accuracy by kind of review:  {'bag of words':>12}  {name:>6}  example")
            for kind, row in by_kind.items():
                run.echo(f"  {kind:12} ({row['count']:4} reviews)  {row['bow_valid_accuracy']:12.3f}  "
                         f"{row['valid_accuracy']:6.3f}  {row['example']!r}")
        test = evaluate_test(run, model, vocab, classes, prep, opts) if opts["test_path"] else None
        if run.plot_path:
            with run.writing("--plot"):
                plot_curves(run.plot_path, run.history, bow_accuracy, name)
            run.echo(f"plot: {run.plot_path}")
            if test is not None:
                path = confusion_plot_path(run.plot_path)
                with run.writing("--plot", path):
                    plot_confusion_matrix(path, test)
                run.echo(f"plot: {path} (the --test confusion matrix)")
        elapsed = time.perf_counter() - started
        run.finish(
            f"sentiment: {name} valid accuracy {valid_accuracy:.3f}, bag-of-words {bow_accuracy:.3f}, "
            f"{elapsed:.0f} s",
            valid_accuracy=valid_accuracy, bow_valid_accuracy=bow_accuracy, bow_train_accuracy=bow_train_accuracy,
            best_valid_accuracy=best["valid_accuracy"], best_epoch=best["epoch"], by_kind=by_kind,
            train_time=train_time, bow_train_time=bow_time, total_time=elapsed,
            padding_fraction=padding, padding_fraction_unbucketed=padding_unbucketed,
            epochs=run.n_epochs, parameters=n_params, vocab_size=len(vocab), classes=extra["classes"],
            train_examples=len(train_ids), valid_examples=len(valid_ids), data=source, model=name,
            test_accuracy=None if test is None else test["accuracy"],
            options={k: v for k, v in opts.items() if k != "predict_texts"}, test=test,
        )


if __name__ == "__main__":
    main()
