# ownermap: multi-stage build, non-root, binds all interfaces, health-checked.
# The install command is the one CI tests (tests/packaging builds the wheel from the same files and
# installs it with these extras into a fresh virtual environment): pip install '.[postgres,demo]'.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY collector ./collector
COPY graph ./graph
COPY ownership ./ownership
COPY reports ./reports
COPY api ./api
COPY ownermap ./ownermap
RUN python -m venv /opt/ownermap \
 && /opt/ownermap/bin/pip install --no-cache-dir --upgrade pip \
 && /opt/ownermap/bin/pip install --no-cache-dir '.[postgres,demo]'

FROM python:3.11-slim
RUN groupadd --system ownermap && useradd --system --gid ownermap --home-dir /data ownermap \
 && mkdir -p /data && chown ownermap:ownermap /data
COPY --from=build /opt/ownermap /opt/ownermap
ENV PATH=/opt/ownermap/bin:$PATH \
    OWNERMAP_DB=sqlite:////data/ownermap.db \
    OWNERMAP_OTLP_GRPC=0.0.0.0:4317 \
    OWNERMAP_OTLP_HTTP=0.0.0.0:4318 \
    OWNERMAP_API=0.0.0.0:8080
USER ownermap
WORKDIR /data
VOLUME ["/data"]
EXPOSE 4317 4318 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status == 200 else 1)"]
ENTRYPOINT ["ownermap"]
CMD ["serve"]
