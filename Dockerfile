# GPU image for training and testing: CUDA PyTorch base, pinned versions, non-root user, no data inside.
#   docker build -t skeleton-action .
#   docker run --gpus all --user "$(id -u):$(id -g)" -v /path/to/data:/workspace/data \
#       -v "$PWD/work_dir:/workspace/work_dir" -v "$PWD/runs:/workspace/runs" \
#       skeleton-action python main.py --config config/nturgbd-cross-subject/train_joint.yaml
# The base image's torch (2.13.0, CUDA build) satisfies requirements.txt's torch==2.13.0 pin.
ARG BASE_IMAGE=pytorch/pytorch:2.13.0-cuda12.8-cudnn9-runtime
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MPLBACKEND=Agg

WORKDIR /workspace

# Dependencies first, so code changes do not invalidate this layer.
COPY requirements.txt /tmp/build/
RUN python -m pip install --no-cache-dir -r /tmp/build/requirements.txt

RUN groupadd --gid 1000 app && useradd --uid 1000 --gid app --create-home --shell /bin/bash app

COPY --chown=app:app . /workspace
RUN bash docker/install.sh \
    && mkdir -p /workspace/data /workspace/work_dir /workspace/runs /workspace/pre_train \
    && chown -R app:app /workspace/data /workspace/work_dir /workspace/runs /workspace/pre_train

USER 1000:1000
VOLUME ["/workspace/data", "/workspace/work_dir", "/workspace/runs"]
CMD ["python", "main.py", "--help"]
