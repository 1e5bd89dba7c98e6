"""Chorus's XTTS v2 GPT trainer worker: coqui-tts's GPTTrainer under the host's control.

Run by the host (core/finetune/runner/job.ts) as `python worker.py --job FILE`, in the
`finetune-xtts` Python environment (torch with CUDA, coqui-tts). It speaks the line protocol of
protocol.py on fd 3 and obeys stop/pause on stdin. torch and TTS are imported inside `main`,
so a missing package is reported as a `failed` message naming what to install.

What is not verified here: this file has never run against a GPU or a real coqui-tts in the
project's CI (neither exists there); the runner's logic is tested against a stand-in trainer
speaking the same protocol (tests/finetune/standin/trainer.py).
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import time
import traceback
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from protocol import Channel, Control, ignore_interrupts, is_out_of_memory, read_job, setting  # noqa: E402


class StopRequested(Exception):
    """Raised from the step callback when the host asks the worker to stop."""


def newest_checkpoint(folder: str) -> str | None:
    files = [f for f in glob.glob(os.path.join(folder, "**", "checkpoint_*.pth"), recursive=True)]
    return max(files, key=os.path.getmtime) if files else None


def export_model(torch: Any, checkpoint: str, out_dir: str) -> str:
    """The inference model.pth from a trainer checkpoint (optimizer state and DVAE keys dropped, as AllTalk does)."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    state.pop("optimizer", None)
    for key in [k for k in state["model"] if "dvae" in k]:
        del state["model"][key]
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "model.pth")
    torch.save(state, path + ".part")
    os.replace(path + ".part", path)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--job", required=True)
    args = parser.parse_args()
    channel = Channel()
    try:
        job = read_job(args.job)
    except (OSError, ValueError) as err:
        channel.failed(f"bad job file: {err}")
        return 2
    try:
        import torch
        from trainer import Trainer, TrainerArgs
        from TTS.config.shared_configs import BaseDatasetConfig
        from TTS.tts.datasets import load_tts_samples
        from TTS.tts.layers.xtts.trainer.gpt_trainer import GPTArgs, GPTTrainer, GPTTrainerConfig
        from TTS.tts.models.xtts import XttsAudioConfig
    except ImportError as err:
        channel.failed(f"the trainer environment lacks a package ({err}); run: chorus finetune setup")
        return 3
    if not torch.cuda.is_available():
        channel.failed("torch sees no CUDA device (torch.cuda.is_available() is False): install a CUDA build of torch (docs/finetune.md, set-up)")
        return 3
    ignore_interrupts()
    control = Control()
    control.listen()
    device = int(job.get("deviceIndex", 0))
    torch.cuda.set_device(device)
    if job.get("memoryFraction"):
        torch.cuda.set_per_process_memory_fraction(float(job["memoryFraction"]), device)
    total_mb = torch.cuda.get_device_properties(device).total_memory / 1048576
    base = job["baseModelDir"]
    ds = job["dataset"]
    probe = job["mode"] == "probe"
    gpt = dict(job["trainerConfig"].get("GPTArgs", {}))
    cfg = dict(job["trainerConfig"].get("GPTTrainerConfig", {}))
    batch_size = int(cfg.get("batch_size", 1))
    accum = int(setting(job, "TrainerArgs", "grad_accum_steps", 1))
    model_args = GPTArgs(
        **gpt,
        mel_norm_file=os.path.join(base, "mel_stats.pth"),
        dvae_checkpoint=os.path.join(base, "dvae.pth"),
        xtts_checkpoint=os.path.join(base, "model.pth"),
        tokenizer_file=os.path.join(base, "vocab.json"),
    )
    out_path = job["checkpointDir"]
    config = GPTTrainerConfig(
        **cfg,
        epochs=1 if probe else int(job["epochs"]),
        output_path=out_path,
        model_args=model_args,
        run_name="chorus",
        project_name="chorus-finetune",
        dashboard_logger="tensorboard",
        audio=XttsAudioConfig(sample_rate=22050, dvae_sample_rate=22050, output_sample_rate=24000),
        num_loader_workers=2,
        print_step=1_000_000,
        plot_step=1_000_000,
        log_model_step=1_000_000,
        save_step=max(1, int(job.get("saveEverySteps", 1000))),
        save_n_checkpoints=2,
        save_checkpoints=not probe,
        save_best_after=10**9,
        run_eval=not probe,
        print_eval=False,
        test_sentences=[],
    )
    dataset = BaseDatasetConfig(formatter="coqui", dataset_name="chorus", path=ds["dir"], meta_file_train=ds["trainCsv"], meta_file_val=ds["evalCsv"], language=ds["language"])
    train_samples, eval_samples = load_tts_samples([dataset], eval_split=True, eval_split_max_size=256)
    max_wav = int(gpt.get("max_wav_length", 255995))
    lengths: dict[str, float] = {}
    import soundfile  # a dependency of coqui-tts

    for s in train_samples:
        lengths[s["audio_file"]] = soundfile.info(s["audio_file"]).duration
    kept = [s for s in train_samples if 0.5 <= lengths[s["audio_file"]] <= max_wav / 22050]
    if probe:
        longest = sorted(kept, key=lambda s: lengths[s["audio_file"]], reverse=True)[:batch_size]
        train_samples = longest * int(job.get("probeSteps", 2))
    steps_per_epoch = max(1, -(-len(train_samples) // batch_size))
    model = GPTTrainer.init_from_config(config)
    state: dict[str, Any] = {"longest": 0.0, "t": time.time()}
    original_step = model.train_step

    def train_step(batch: dict[str, Any], criterion: Any) -> Any:
        state["longest"] = float(batch["wav_lengths"].max()) / 22050
        return original_step(batch, criterion)

    model.train_step = train_step  # type: ignore[method-assign]
    resume = job.get("resumeFrom")
    trainer = Trainer(TrainerArgs(restore_path=resume, grad_accum_steps=accum, skip_train_epoch=False, start_with_eval=False),
                      config, output_path=out_path, model=model, train_samples=train_samples, eval_samples=eval_samples)
    resumed = {"checkpoint": resume, "epoch": int(trainer.epochs_done), "globalStep": int(trainer.total_steps_done)} if resume else None
    channel.start(mode=job["mode"], device=f"cuda:{device}", totalMb=round(total_mb, 1), trainSamples=len(kept), evalSamples=len(eval_samples),
                  stepsPerEpoch=steps_per_epoch, epochs=config.epochs, batchSize=batch_size, gradAccumSteps=accum, maxClipSeconds=max_wav / 22050,
                  resumedFrom=resumed, stack={"torch": torch.__version__, "cuda": str(torch.version.cuda)},
                  env={"PYTORCH_CUDA_ALLOC_CONF": os.environ.get("PYTORCH_CUDA_ALLOC_CONF", "")})
    seen = {"checkpoint": newest_checkpoint(out_path)}

    def report_checkpoint(reason: str) -> None:
        path = newest_checkpoint(out_path)
        if path and path != seen["checkpoint"]:
            seen["checkpoint"] = path
            channel.checkpoint(path, int(trainer.epochs_done), int(trainer.total_steps_done), reason)

    def lr() -> float:
        optimizers = trainer.optimizer if isinstance(trainer.optimizer, list) else [trainer.optimizer]
        return float(optimizers[0].param_groups[0]["lr"])

    def on_step_end(t: Any) -> None:
        now = time.time()
        step_seconds, state["t"] = now - state["t"], now
        avg = t.keep_avg_train.avg_values if t.keep_avg_train is not None else {}
        step = (t.total_steps_done - 1) % steps_per_epoch
        channel.progress(epoch=int(t.epochs_done), step=step + 1, global_step=int(t.total_steps_done), steps_per_epoch=steps_per_epoch,
                         loss=float(avg.get("avg_loss", 0.0)), learning_rate=lr(), samples_per_second=batch_size / max(step_seconds, 1e-6),
                         step_seconds=step_seconds, max_allocated_mb=torch.cuda.max_memory_allocated(device) / 1048576,
                         max_reserved_mb=torch.cuda.max_memory_reserved(device) / 1048576, reserved_mb=torch.cuda.memory_reserved(device) / 1048576,
                         total_mb=total_mb, longest_clip_seconds=state["longest"])
        report_checkpoint("steps")
        control.wait_while_paused(lambda: channel.send("paused", globalStep=int(t.total_steps_done)), lambda: channel.send("resumed", globalStep=int(t.total_steps_done)))
        if control.stop_requested:
            raise StopRequested()

    def on_epoch_end(t: Any) -> None:
        if not probe:
            t.save_checkpoint()
            report_checkpoint("epoch")
            if t.keep_avg_eval is not None and "avg_loss" in t.keep_avg_eval.avg_values:
                channel.eval(int(t.epochs_done), int(t.total_steps_done), float(t.keep_avg_eval.avg_values["avg_loss"]))

    trainer.callbacks.parse_callbacks_dict({"on_train_step_end": on_step_end, "on_epoch_end": on_epoch_end})
    try:
        # _fit, not fit: fit() turns every exception (an OOM included) into exit code 1 and may delete the run folder
        trainer._fit()
    except StopRequested:
        trainer.save_checkpoint()
        report_checkpoint("stop")
        channel.send("stopped", checkpoint=seen["checkpoint"], globalStep=int(trainer.total_steps_done))
        return 0
    except BaseException as err:  # noqa: BLE001 - every failure is reported to the host
        if is_out_of_memory(err):
            channel.oom(err, peak_allocated_mb=torch.cuda.max_memory_allocated(device) / 1048576, peak_reserved_mb=torch.cuda.max_memory_reserved(device) / 1048576,
                        total_mb=total_mb, batch_size=batch_size, longest_clip_seconds=state["longest"], global_step=int(trainer.total_steps_done))
            return 4
        channel.failed(f"{type(err).__name__}: {err}", traceback.format_exc())
        return 1
    if probe:
        channel.send("probe", steps=int(trainer.total_steps_done), peakAllocatedMb=round(torch.cuda.max_memory_allocated(device) / 1048576, 1),
                     peakReservedMb=round(torch.cuda.max_memory_reserved(device) / 1048576, 1), batchSize=batch_size, longestClipSeconds=state["longest"], totalMb=round(total_mb, 1))
        return 0
    last = newest_checkpoint(out_path)
    if last is None:
        channel.failed("training ended without a checkpoint to export")
        return 1
    model_path = export_model(torch, last, job["outDir"])
    channel.finished(model_path, last, int(trainer.epochs_done), int(trainer.total_steps_done))
    return 0


if __name__ == "__main__":
    sys.exit(main())
