# blastmap in a container: a small Debian image with Graphviz (SVG and PNG diagrams), running as
# an unprivileged user. See docs/container.md.
#
#   docker build --build-arg BLASTMAP_GIT_COMMIT=$(git rev-parse --short=12 HEAD) -t blastmap .
#   docker run --rm -v "$PWD:/work" blastmap scan --snapshot snapshot.json --out scan/

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
# The build context has no .git (.dockerignore): the commit comes in as an argument.
ARG BLASTMAP_GIT_COMMIT=""
RUN BLASTMAP_GIT_COMMIT="$BLASTMAP_GIT_COMMIT" bash scripts/build-release.sh /dist

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends graphviz ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /work --no-create-home blastmap \
 && mkdir /work && chown blastmap /work
COPY --from=build /dist/ /usr/local/
USER 10001
WORKDIR /work
ENTRYPOINT ["blastmap"]
CMD ["--help"]
