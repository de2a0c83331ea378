"""Train and test one stream: the functions ``main.py`` calls.

Outputs of a training run (``work_dir``): ``config.yaml``, ``log.txt``, ``metrics.csv``,
``training_curves.png``, ``checkpoint.pt`` (full state, for ``--resume``), optional
``epoch<E>_test_score.pkl``; with a validation set, ``epoch<E>_val_score.pkl`` of the last epoch and,
with ``model_selection``, ``best_val_score.pkl`` (the validation scores of the ``-best.pt`` weights);
weight files ``<model_saved_name>-<epoch>-<step>.pt`` (2s-AGCN's names), ``-best.pt``.
Outputs of a test run: ``epoch1_test_score.pkl`` (``{sample_name: logits}``), ``test_summary.json``
(top-1, top-5, mean-class accuracy), ``per_class_accuracy.csv``, ``confusion_matrix.png``,
``wrong_samples.csv``.
"""

from __future__ import annotations

import contextlib
import json
import platform
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from engine import builder
from engine.checkpoint import (
    check_meta,
    load_checkpoint,
    read_weights,
    resolve_weights_path,
    save_checkpoint,
    save_weights,
    unwrap,
)
from engine.config import Config, dump_config
from engine.logger import RunLogger
from engine.loop import cross_entropy, make_label_smoothing, mean_loss, predict, train_one_epoch
from engine.metrics import confusion_matrix, per_class_table, summarize
from engine.plots import plot_confusion, plot_training_curves
from engine.runtime import (
    Runtime,
    autocast_dtype,
    derive_seed,
    rng_state,
    seed_everything,
    setup_runtime,
    teardown_runtime,
)
from engine.scores import save_scores
from engine.workdir import RunLock, training_dir
from utils.errors import ConfigError, DataError
from utils.io import save_text

_TRAIN_ONLY_ARGS = ("random_choose", "random_shift", "random_move")
TRAIN_SUMMARY = "train_summary.json"  # written when a training run has finished every epoch
BEST_VAL_SCORES = "best_val_score.pkl"  # validation scores of the epoch saved as -best.pt


def run(cfg: Config) -> dict[str, Any]:
    """Run the configured phase; returns a summary dict (on every process)."""
    with warnings.catch_warnings():
        warnings.simplefilter("always")  # each run reports its own device fallback
        rt = setup_runtime(cfg.device)
    try:
        return train(cfg, rt) if cfg.phase == "train" else test(cfg, rt)
    finally:
        teardown_runtime(rt)


# ---------------------------------------------------------------------------------------------
# shared set-up
def _loss_fn(cfg: Config):
    return make_label_smoothing(cfg.label_smoothing) if cfg.loss == "label_smoothing" else cross_entropy


def _load_initial_weights(cfg: Config, model: nn.Module, meta: dict[str, Any], log: RunLogger) -> None:
    from model.loading import load_weights

    path = resolve_weights_path(cfg.weights)
    obj, recorded = read_weights(path)
    if cfg.phase == "test" or not cfg.ignore_weights:
        check_meta(recorded, meta, str(path))
    report = load_weights(model, obj, ignore=tuple(cfg.ignore_weights), source_name=str(path))
    log(f"Loaded weights {report.summary()}")


def _environment(rt: Runtime) -> str:
    dev = rt.device.type if rt.device.type != "cuda" else torch.cuda.get_device_name(rt.device)
    return (
        f"torch {torch.__version__}, python {platform.python_version()}, device {rt.device} ({dev}), "
        f"{torch.get_num_threads()} CPU threads, {rt.world_size} process(es)"
    )


@contextlib.contextmanager
def _held_work_dir(cfg: Config, rt: Runtime, train: bool) -> Iterator[str | None]:
    """Hold ``work_dir`` for this run (rank 0 locks it; see engine.workdir); yields the resume to use."""
    work_dir = Path(cfg.work_dir)
    if rt.is_main:
        held = training_dir(work_dir, cfg.resume, cfg.overwrite) if train else RunLock(work_dir)
    else:
        held = contextlib.nullcontext()
    with held:
        if rt.distributed:
            torch.distributed.barrier()  # rank 0 has checked, moved aside and locked the folder
        resume = cfg.resume
        if resume == "auto" and not (work_dir / "checkpoint.pt").exists():
            resume = None  # nothing to continue yet: a fresh run (training_dir said why)
        yield resume


def _configure_torch(cfg: Config) -> None:
    if cfg.deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    elif torch.cuda.is_available():
        torch.backends.cudnn.benchmark = True


def _wrap(cfg: Config, model: nn.Module, rt: Runtime) -> nn.Module:
    model.to(rt.device)
    if rt.distributed:
        if cfg.sync_bn:
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        ids = [rt.device.index] if rt.device.type == "cuda" else None
        model = nn.parallel.DistributedDataParallel(model, device_ids=ids)
    if cfg.compile:
        model = torch.compile(model)
    return model


def _eval_args(
    train_args: dict[str, Any], test_args: dict[str, Any], val_args: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Validation feeder: training files (and split of an annotation pickle), test-time options (no
    augmentation); ``val_args`` (``val_feeder_args``: a val part's files) override the result key by key.
    """
    files = ("data_path", "label_path", "split")
    args = {k: v for k, v in test_args.items() if k not in (*files, "debug")}
    for key in ("data_path", "label_path", "debug", "stream", "use_mmap", "layout", "score_channel"):
        if key in train_args and key not in args:
            args[key] = train_args[key]
    args.update({k: train_args[k] for k in files if k in train_args})
    for key in _TRAIN_ONLY_ARGS:
        args.pop(key, None)
    if val_args and val_args.get("data_path"):  # a val part: its own files, none of the training set's
        for key in files:
            args.pop(key, None)
    args.update(val_args or {})
    return args


# ---------------------------------------------------------------------------------------------
def train(cfg: Config, rt: Runtime | None = None) -> dict[str, Any]:
    rt = rt or setup_runtime(cfg.device)
    with _held_work_dir(cfg, rt, train=True) as resume:
        return _train(cfg, rt, resume)


def _train(cfg: Config, rt: Runtime, resume: str | None) -> dict[str, Any]:
    work_dir = Path(cfg.work_dir)
    log = RunLogger(work_dir, enabled=rt.is_main, to_file=cfg.print_log)
    log(f"Training with config {cfg.config or '(command line)'}; {_environment(rt)}")
    if rt.is_main:
        dump_config(cfg, work_dir / "config.yaml")
    _configure_torch(cfg)
    seed_everything(cfg.seed)

    model = builder.build_model(cfg)
    model_cls = builder.model_class(cfg)
    layout = builder.model_layout(model)
    log(f"Model {cfg.model}: {sum(p.numel() for p in model.parameters()):,} parameters")

    # --- data -------------------------------------------------------------------------------
    train_args = dict(cfg.train_feeder_args)
    persons = builder.model_persons(cfg)
    val_files = dict(cfg.val_feeder_args)
    for key, args in (
        ("train_feeder_args", train_args),
        ("val_feeder_args", val_files),
        ("test_feeder_args", cfg.test_feeder_args),
    ):
        builder.check_layout_against_data(layout, args, key, cfg.config)
    full_train = builder.build_feeder(cfg.feeder, train_args, "train_feeder_args", layout, num_person=persons)
    val_set = None
    if val_files.get("data_path"):  # a validation part of the data (custom_gendata's val_*)
        train_set = full_train
        val_args = _eval_args(train_args, dict(cfg.test_feeder_args), val_files)
        val_set = builder.build_feeder(cfg.feeder, val_args, "val_feeder_args", layout, num_person=persons)
        log(f"Validation set: {len(val_set)} samples of {val_args['data_path']}")
    elif cfg.val_fraction > 0:
        train_idx, val_idx = builder.stratified_split(full_train.label, cfg.val_fraction, cfg.seed)
        train_set = builder.build_feeder(
            cfg.feeder, train_args, "train_feeder_args", layout, indices=train_idx, num_person=persons
        )
        val_args = _eval_args(train_args, dict(cfg.test_feeder_args), val_files)
        val_set = builder.build_feeder(
            cfg.feeder, val_args, "train_feeder_args", layout, indices=val_idx, num_person=persons
        )
        log(
            f"Validation split: {len(val_idx)} of {len(full_train)} training samples held out (seed {cfg.seed})"
        )
    else:
        train_set = full_train
    test_set = None
    if cfg.test_feeder_args.get("data_path"):  # without data_path: only the validation split's options
        test_set = builder.build_feeder(
            cfg.feeder, dict(cfg.test_feeder_args), "test_feeder_args", layout, num_person=persons
        )
    val_key = "val_feeder_args" if val_files.get("data_path") else "train_feeder_args"
    for key, ds in (("train_feeder_args", train_set), (val_key, val_set), ("test_feeder_args", test_set)):
        if ds is not None:
            builder.check_data_against_model(ds, key, model_cls, cfg.model_args)
    meta = builder.run_meta(cfg, model, train_args)
    if test_set is not None and builder.feeder_stream(cfg.test_feeder_args) != meta["stream"]:
        raise ConfigError(
            f"test_feeder_args: stream '{builder.feeder_stream(cfg.test_feeder_args)}' differs from the training "
            f"stream '{meta['stream']}'"
        )
    names = builder.class_names(cfg.label_map, meta["num_class"])
    log(
        f"Data: {len(train_set)} training samples"
        + (f", {len(val_set)} validation" if val_set is not None else "")
        + (f", {len(test_set)} test" if test_set is not None else "")
        + f"; stream {meta['stream']}; layout {meta['layout']}"
    )

    if cfg.weights:
        _load_initial_weights(cfg, model, meta, log)
    net = _wrap(cfg, model, rt)
    optimizer = builder.build_optimizer(cfg, net)
    amp_dtype = autocast_dtype(cfg.precision, rt.device)
    scaler = torch.amp.GradScaler(rt.device.type) if amp_dtype == torch.float16 else None
    loss_fn = _loss_fn(cfg)
    train_loader = builder.make_loader(
        train_set, cfg.batch_size, train=True, num_worker=cfg.num_worker, rt=rt, seed=cfg.seed
    )
    eval_loaders = {
        name: builder.make_loader(
            ds, cfg.test_batch_size, train=False, num_worker=cfg.num_worker, rt=rt, seed=0
        )
        for name, ds in (("val", val_set), ("test", test_set))
        if ds is not None
    }
    log(
        f"Batch {cfg.batch_size} ({rt.world_size} process(es) x {train_loader.batch_size}), "
        f"{len(train_loader)} iterations per epoch, optimizer {cfg.optimizer}, base_lr {cfg.base_lr}, "
        f"precision {'fp32' if amp_dtype is None else str(amp_dtype).replace('torch.', '')}"
    )

    # --- resume -----------------------------------------------------------------------------
    start_epoch, global_step = cfg.start_epoch, 0
    best: dict[str, Any] = {}
    ckpt_path = work_dir / "checkpoint.pt"
    if resume:
        path = ckpt_path if resume == "auto" else Path(resume)
        state = load_checkpoint(path)
        check_meta(state.get("meta"), meta, str(path))
        from model.loading import load_weights

        try:
            load_weights(unwrap(net), state["model"], source_name=str(path))
        except DataError as exc:
            raise DataError(
                f"--resume: {exc}; the checkpoint belongs to a run with other model_args: resume with that "
                "run's config, or start afresh with --overwrite or another --work-dir"
            ) from None
        optimizer.load_state_dict(state["optimizer"])
        if scaler is not None and state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        start_epoch, global_step = int(state["epoch"]), int(state["global_step"])
        best = dict(state.get("best", {}))
        log.history = list(state.get("history", []))
        log(f"Resumed from {path}: {start_epoch} epochs done, global step {global_step}")

    prefix = cfg.model_saved_name or str(work_dir / "weights")
    last_weights = "none yet"
    summary: dict[str, Any] = {"work_dir": str(work_dir)}
    for epoch in range(start_epoch, cfg.num_epoch):
        lr = builder.learning_rate(cfg, epoch)
        for group in optimizer.param_groups:
            group["lr"] = lr
        if cfg.only_train_part:
            for name, p in unwrap(net).named_parameters():
                if "PA" in name:
                    p.requires_grad_(epoch > cfg.only_train_epoch)
        # everything random in this epoch (shuffle, augmentation, dropout, worker seeds) follows (seed, epoch),
        # so a resumed run repeats an uninterrupted one
        seed_everything(derive_seed(cfg.seed, epoch, rt.rank))
        if isinstance(train_loader.sampler, torch.utils.data.distributed.DistributedSampler):
            train_loader.sampler.set_epoch(epoch)
        log(f"Training epoch: {epoch + 1}/{cfg.num_epoch}, learning rate {lr:.6g}")
        stats, global_step = train_one_epoch(
            net,
            train_loader,
            optimizer,
            loss_fn,
            rt,
            epoch=epoch,
            global_step=global_step,
            amp_dtype=amp_dtype,
            scaler=scaler,
            grad_clip=cfg.grad_clip,
            log=log,
            log_interval=cfg.log_interval,
            last_checkpoint=str(ckpt_path) if ckpt_path.exists() else last_weights,
            lr_at=(lambda p, e=epoch: builder.learning_rate(cfg, e, p))
            if cfg.lr_scheduler == "cosine"
            else None,
        )
        log(
            f"\tMean training loss: {stats.loss:.4f}, accuracy {100 * stats.acc:.2f}% "
            f"({stats.seconds:.1f} s, {stats.samples / max(stats.seconds, 1e-9):.1f} samples/s)"
        )
        row: dict[str, Any] = {
            "epoch": epoch + 1,
            "lr": lr,
            "train_loss": stats.loss,
            "train_acc": stats.acc,
            "seconds": stats.seconds,
        }
        last = epoch + 1 == cfg.num_epoch
        if (epoch + 1) % cfg.eval_interval == 0 or last:
            val_scores: tuple[list[str], np.ndarray] | None = None
            for name, loader in eval_loaders.items():
                idx, logits = predict(net, loader, rt, amp_dtype=amp_dtype, desc=f"epoch {epoch + 1} {name}")
                labels = np.asarray(loader.dataset.label)[idx]
                res = summarize(logits, labels, cfg.show_topk)
                row[f"{name}_loss"] = mean_loss(logits, labels, loss_fn)
                for k in cfg.show_topk:
                    row[f"{name}_top{k}"] = res[f"top{k}"]
                log(
                    f"\t{name}: loss {row[f'{name}_loss']:.4f}, "
                    + ", ".join(f"top{k} {100 * res[f'top{k}']:.2f}%" for k in cfg.show_topk)
                    + f", mean-class {100 * res['mean_class']:.2f}%"
                )
                sample_names = [loader.dataset.sample_name[i] for i in idx]
                if name == "val":
                    val_scores = (sample_names, logits)
                if rt.is_main and ((cfg.save_score and name == "test") or (name == "val" and last)):
                    # validation scores of the last epoch feed ensemble.py's weight search
                    path = work_dir / f"epoch{epoch + 1}_{name}_score.pkl"
                    save_scores(sample_names, logits, path, classes=names)
            selector = {"val": "val_top1", "test": "test_top1"}.get(cfg.model_selection)
            # ties go to the later epoch: with small validation sets equal scores are common, and
            # the later weights have trained longer
            if selector and selector in row and row[selector] >= best.get("score", -1.0):
                best = {"score": row[selector], "epoch": epoch + 1, "metric": selector}
                if rt.is_main:
                    save_weights(net, f"{prefix}-best.pt", meta)
                    if val_scores is not None:  # the validation scores of the -best.pt weights
                        save_scores(*val_scores, work_dir / BEST_VAL_SCORES, classes=names)
        if rt.is_main and ((epoch + 1) % cfg.save_interval == 0 or last):
            last_weights = str(save_weights(net, f"{prefix}-{epoch}-{global_step}.pt", meta))
            log(f"\tSaved weights {last_weights}")
        table = log.record(row)
        if rt.is_main:
            save_checkpoint(
                ckpt_path,
                model=unwrap(net).state_dict(),
                optimizer=optimizer.state_dict(),
                scaler=scaler.state_dict() if scaler is not None else None,
                epoch=epoch + 1,
                global_step=global_step,
                rng=rng_state(),
                history=log.history,
                best=best,
                config=cfg.to_dict(),
                meta=meta,
            )
            plot_training_curves(table, work_dir / "training_curves.png", title=Path(cfg.work_dir).name)
        summary.update({k: v for k, v in row.items() if k != "seconds"})
    if best:
        warn = " (chosen on the test set; report the last epoch too)" if cfg.model_selection == "test" else ""
        log(f"Best epoch by {best['metric']}: {best['epoch']} ({100 * best['score']:.2f}%){warn}")
        summary["best"] = best
    if "test_top1" in summary:
        log(f"Last epoch ({cfg.num_epoch}) test top1: {100 * summary['test_top1']:.2f}%")
    summary["weights"] = last_weights
    if best:
        summary["best_weights"] = f"{prefix}-best.pt"
        if (work_dir / BEST_VAL_SCORES).is_file():
            summary["best_val_scores"] = str(work_dir / BEST_VAL_SCORES)
    summary["class_names"] = names is not None
    if rt.is_main:  # the mark of a finished run (experiment.py skips it on a rerun)
        save_text(json.dumps(summary, indent=2, default=float) + "\n", work_dir / TRAIN_SUMMARY)
    return summary


# ---------------------------------------------------------------------------------------------
def test(cfg: Config, rt: Runtime | None = None) -> dict[str, Any]:
    rt = rt or setup_runtime(cfg.device)
    with _held_work_dir(cfg, rt, train=False):
        return _test(cfg, rt)


def _test(cfg: Config, rt: Runtime) -> dict[str, Any]:
    work_dir = Path(cfg.work_dir)
    log = RunLogger(work_dir, enabled=rt.is_main, to_file=cfg.print_log)
    log(f"Testing {cfg.weights} with config {cfg.config or '(command line)'}; {_environment(rt)}")
    seed_everything(cfg.seed)
    model = builder.build_model(cfg)
    model_cls = builder.model_class(cfg)
    layout = builder.model_layout(model)
    if not cfg.test_feeder_args:
        raise ConfigError("test_feeder_args: the test phase needs data_path and label_path")
    builder.check_layout_against_data(layout, cfg.test_feeder_args, "test_feeder_args", cfg.config)
    test_set = builder.build_feeder(
        cfg.feeder,
        dict(cfg.test_feeder_args),
        "test_feeder_args",
        layout,
        num_person=builder.model_persons(cfg),
    )
    builder.check_data_against_model(test_set, "test_feeder_args", model_cls, cfg.model_args)
    meta = builder.run_meta(cfg, model, dict(cfg.test_feeder_args))
    _load_initial_weights(cfg, model, meta, log)
    net = _wrap(cfg, model, rt)
    amp_dtype = autocast_dtype(cfg.precision, rt.device)
    loader = builder.make_loader(
        test_set, cfg.test_batch_size, train=False, num_worker=cfg.num_worker, rt=rt, seed=0
    )
    idx, logits = predict(net, loader, rt, amp_dtype=amp_dtype, desc="test")
    labels = np.asarray(test_set.label)[idx]
    res = summarize(logits, labels, cfg.show_topk)
    res["loss"] = mean_loss(logits, labels, _loss_fn(cfg))
    res.update({"weights": cfg.weights, "stream": meta["stream"], "model": cfg.model})
    if rt.is_main:
        _write_test_outputs(cfg, work_dir, test_set, idx, logits, labels, res, meta, log)
    log(
        f"Test on {len(labels)} samples: "
        + ", ".join(f"top{k} {100 * res[f'top{k}']:.2f}%" for k in cfg.show_topk)
        + f", mean-class {100 * res['mean_class']:.2f}%"
    )
    return res


def _write_test_outputs(cfg, work_dir, test_set, idx, logits, labels, res, meta, log) -> None:
    score_path = work_dir / "epoch1_test_score.pkl"
    if score_path.exists():
        log(f"Replacing the previous results in {work_dir}")
    num_class = logits.shape[1]
    names = builder.class_names(cfg.label_map, num_class) or [str(i) for i in range(num_class)]
    save_scores([test_set.sample_name[i] for i in idx], logits, score_path, classes=names)
    preds = logits.argmax(axis=1)
    cm = confusion_matrix(labels, preds, num_class)
    save_text(
        per_class_table(cm, names).to_csv(index=False, float_format="%.4f"),
        work_dir / "per_class_accuracy.csv",
    )
    plot_confusion(
        cm, work_dir / "confusion_matrix.png", names, title=f"{Path(cfg.work_dir).name}: {meta['stream']}"
    )
    wrong = np.flatnonzero(preds != labels)
    probs = torch.softmax(torch.from_numpy(logits), dim=1).numpy()
    table = pd.DataFrame(
        {
            "sample": [test_set.sample_name[idx[i]] for i in wrong],
            "label": labels[wrong],
            "label_name": [names[labels[i]] for i in wrong],
            "predicted": preds[wrong],
            "predicted_name": [names[preds[i]] for i in wrong],
            "confidence": probs[wrong, preds[wrong]],
        }
    )
    save_text(table.to_csv(index=False, float_format="%.4f"), work_dir / "wrong_samples.csv")
    save_text(json.dumps(res, indent=2, default=float) + "\n", work_dir / "test_summary.json")
    log(
        f"Wrote {score_path.name}, test_summary.json, per_class_accuracy.csv, confusion_matrix.png, wrong_samples.csv"
    )
