"""STAND-IN for core/finetune/trainer/worker.py, for the runner's tests: no torch, no coqui-tts.

It reads the same job file, speaks the same protocol through the real protocol layer
(core/finetune/trainer/protocol.py) and behaves like coqui's GPT trainer where the runner
cares: batches drawn from the kept clips (those <= max_wav_length), progress per step,
checkpoints every saveEverySteps steps and at each epoch's end, resume from a checkpoint, and
a CUDA out-of-memory when the memory it models exceeds the card it is given:

    peak = STANDIN_FIXED_MB + STANDIN_MB_PER_SAMPLE_SECOND * batch * longest clip in the batch

The batch holding the dataset's longest clip arrives at step STANDIN_LONGEST_AT_STEP of every
epoch (coqui samples at random, so the real one can come at any step); other batches hold the
median clip. STANDIN_TOTAL_MB is the card. STANDIN_HOLD_AFTER_STEP=N waits after global step N
for a command from the host (tests use it to act while the job holds the GPU).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import time
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "core", "finetune", "trainer"))
from protocol import Channel, Control, ignore_interrupts, read_job, setting  # noqa: E402


def env(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def durations(dataset: dict[str, str], csv_name: str) -> list[float]:
    out = []
    with open(os.path.join(dataset["dir"], csv_name), encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="|"):
            with wave.open(os.path.join(dataset["dir"], row["audio_file"]), "rb") as w:
                out.append(w.getnframes() / w.getframerate())
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--job", required=True)
    job = read_job(parser.parse_args().job)
    channel = Channel()
    ignore_interrupts()
    control = Control()
    control.listen()
    total, fixed, per = env("STANDIN_TOTAL_MB", 12288), env("STANDIN_FIXED_MB", 8000), env("STANDIN_MB_PER_SAMPLE_SECOND", 100)
    longest_at, hold_after, step_time = int(env("STANDIN_LONGEST_AT_STEP", 3)), int(env("STANDIN_HOLD_AFTER_STEP", -1)), env("STANDIN_STEP_SECONDS", 0.01)
    batch = int(setting(job, "GPTTrainerConfig", "batch_size", 1))
    accum = int(setting(job, "TrainerArgs", "grad_accum_steps", 1))
    lr = float(setting(job, "GPTTrainerConfig", "lr", 5e-6))
    cap = int(setting(job, "GPTArgs", "max_wav_length", 255995)) / 22050
    clips = [d for d in durations(job["dataset"], job["dataset"]["trainCsv"]) if 0.5 <= d <= cap]
    evals = durations(job["dataset"], job["dataset"]["evalCsv"])
    if not clips:
        channel.failed(f"no training clip is <= {cap:.2f} s")
        return 1
    longest, typical = max(clips), statistics.median(clips)
    probe = job["mode"] == "probe"
    steps_per_epoch = int(job.get("probeSteps", 2)) if probe else -(-len(clips) // batch)
    epochs = 1 if probe else int(job["epochs"])
    os.makedirs(job["checkpointDir"], exist_ok=True)
    start = 0
    resumed = None
    if job.get("resumeFrom"):
        with open(job["resumeFrom"], encoding="utf-8") as f:
            saved = json.load(f)
        start = int(saved["globalStep"])
        resumed = {"checkpoint": job["resumeFrom"], "epoch": int(saved["epoch"]), "globalStep": start}
    channel.start(mode=job["mode"], device="cuda:0 (stand-in)", totalMb=total, trainSamples=len(clips), evalSamples=len(evals), stepsPerEpoch=steps_per_epoch,
                  epochs=epochs, batchSize=batch, gradAccumSteps=accum, maxClipSeconds=round(cap, 3), resumedFrom=resumed, stack={"standin": "1"},
                  env={k: os.environ.get(k, "") for k in ("PYTORCH_CUDA_ALLOC_CONF", "COQUI_TOS_AGREED")})
    peak = 0.0
    last_checkpoint: str | None = job.get("resumeFrom")

    def save(step: int, epoch: int, reason: str) -> None:
        nonlocal last_checkpoint
        path = os.path.join(job["checkpointDir"], f"checkpoint_{step}.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"globalStep": step, "epoch": epoch, "batchSize": batch, "gradAccumSteps": accum}, f)
        last_checkpoint = path
        channel.checkpoint(path, epoch, step, reason)

    for g in range(start + 1, epochs * steps_per_epoch + 1):
        epoch, step = (g - 1) // steps_per_epoch, (g - 1) % steps_per_epoch + 1
        clip = longest if (probe or step == longest_at) else typical
        need = fixed + per * batch * clip
        if need > total:
            channel.oom(RuntimeError(f"CUDA out of memory. Tried to allocate {need - max(peak, fixed):.2f} MiB (GPU 0; {total / 1024:.2f} GiB total capacity)"),
                        peak_allocated_mb=max(peak, fixed), peak_reserved_mb=max(peak, fixed) * 1.05, total_mb=total, batch_size=batch,
                        longest_clip_seconds=clip, global_step=g - 1)
            return 4
        peak = max(peak, need)
        time.sleep(step_time)
        channel.progress(epoch=epoch, step=step, global_step=g, steps_per_epoch=steps_per_epoch, loss=2.0 / (1 + 0.1 * g), learning_rate=lr,
                         samples_per_second=batch / step_time, step_seconds=step_time, max_allocated_mb=peak, max_reserved_mb=peak * 1.05,
                         reserved_mb=peak * 1.05, total_mb=total, longest_clip_seconds=clip)
        if probe:
            continue
        if g % int(job["saveEverySteps"]) == 0:
            save(g, epoch, "steps")
        if step == steps_per_epoch:
            if last_checkpoint is None or not last_checkpoint.endswith(f"_{g}.json"):
                save(g, epoch + 1, "epoch")
            channel.eval(epoch + 1, g, 1.5 / (1 + 0.1 * g))
        control.wait_while_paused(lambda g=g: channel.send("paused", globalStep=g), lambda g=g: channel.send("resumed", globalStep=g), hold=g == hold_after)
        if control.stop_requested:
            if last_checkpoint is None or not last_checkpoint.endswith(f"_{g}.json"):
                save(g, epoch, "stop")
            channel.send("stopped", checkpoint=last_checkpoint, globalStep=g)
            return 0
    if probe:
        channel.send("probe", steps=steps_per_epoch, peakAllocatedMb=peak, peakReservedMb=peak * 1.05, batchSize=batch, longestClipSeconds=longest, totalMb=total)
        return 0
    os.makedirs(job["outDir"], exist_ok=True)
    model = os.path.join(job["outDir"], "model.pth")
    with open(model, "w", encoding="utf-8") as f:
        f.write(f"stand-in model: batch {batch}, accumulation {accum}, {epochs} epochs\n")
    channel.finished(model, last_checkpoint, epochs, epochs * steps_per_epoch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
