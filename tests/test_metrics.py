import numpy as np

from engine.metrics import confusion_matrix, mean_class_accuracy, per_class_table, summarize, topk_accuracy


def test_topk_against_a_sort_based_reference():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(500, 12)).astype(np.float32)
    labels = rng.integers(0, 12, size=500)
    order = np.argsort(-scores, axis=1)
    for k in (1, 3, 5, 12):
        expected = np.mean([labels[i] in order[i, :k] for i in range(500)])
        assert topk_accuracy(scores, labels, k) == expected


def test_confusion_and_mean_class_accuracy():
    labels = np.array([0, 0, 0, 1, 2, 2])
    preds = np.array([0, 0, 1, 1, 0, 2])
    cm = confusion_matrix(labels, preds, 4)
    assert cm.tolist() == [[2, 1, 0, 0], [0, 1, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]]
    assert mean_class_accuracy(cm) == np.mean([2 / 3, 1.0, 0.5])  # class 3 has no samples
    table = per_class_table(cm, ["a", "b", "c", "d"])
    assert table["most_confused_with"].tolist() == ["b", "", "a", ""]
    res = summarize(np.eye(4)[preds], labels, (1, 2))
    assert res["top1"] == np.mean(labels == preds) and res["num_samples"] == 6
