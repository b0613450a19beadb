# syntax=docker/dockerfile:1
# tollgate: build with the full Node image, run on distroless (no shell, no package manager).
#
# Node.js 24, the active LTS line, in every stage. The unit tests run on it too (scripts/node.sh
# fetches the same major, `npm run test:image-node`), besides the development machines' Node 20.
#
# Not pinned by digest: the images' digests could not be read where this was written (no
# registry access to Docker Hub or gcr.io, no container daemon), and a digest copied from
# elsewhere cannot be checked. Pin them when building a release:
#   docker buildx imagetools inspect node:24-bookworm-slim        -> FROM node:24-bookworm-slim@sha256:…
#   docker buildx imagetools inspect gcr.io/distroless/nodejs24-debian12:nonroot
#
# Build args for the OCI labels: VERSION (default: package.json's), REVISION (the git commit),
# CREATED (RFC 3339). README.md ("Build and push the image") shows a release build and signing.

FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# No dependency's install script runs: the build needs only tsc.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; none of them has an install script to run.
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force

FROM gcr.io/distroless/nodejs24-debian12:nonroot
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="tollgate" \
      org.opencontainers.image.description="Validating admission webhook for Kubernetes production-readiness rules, with a command-line twin" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="gcr.io/distroless/nodejs24-debian12:nonroot"
WORKDIR /app
ENV NODE_ENV=production
# Owned by root and not writable by the user the process runs as; nothing is written under /app at
# run time (`serve --bootstrap` keeps its certificates in a Secret, in memory), so the root
# filesystem can be mounted read-only. The manifests do, with an emptyDir on /tmp.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
COPY package.json ./
USER 65532:65532
EXPOSE 8443 9090
# --max-semi-space-size=16: V8's young generation as Node 20 sized it. Node 24 grows it with the
# heap, which raised the peak RSS under load by 30-35 MB for no CPU per request (BENCHMARKS.md,
# "Peak RSS on Node 24"). scripts/bench/run.mjs starts tollgate with the flags written here.
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=16", "/app/dist/src/main.js", "serve"]
