# Builds the aurora binary (every component and the CLI) into a distroless image.
FROM golang:1.26 AS builder
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev

WORKDIR /workspace
COPY go.mod go.sum ./
RUN go mod download

COPY api/ api/
COPY auth/ auth/
COPY cli/ cli/
COPY cmd/ cmd/
COPY config/crd/ config/crd/
COPY config/rna/ config/rna/
COPY controllers/ controllers/
COPY hub/ hub/
COPY internal/ internal/
COPY rna/ rna/
COPY server/ server/

RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags "-s -w -X github.com/aurora-cd/aurora/internal/version.Version=${VERSION}" \
    -o aurora ./cmd/aurora

FROM gcr.io/distroless/static:nonroot
WORKDIR /
COPY --from=builder /workspace/aurora .
USER 65532:65532
ENTRYPOINT ["/aurora"]
