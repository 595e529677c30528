# Sourced by the compare-openmpi*.sh scripts (from the repository's root).
# need_openmpi installs Open MPI with apt-get when mpicc or mpirun is
# missing.
need_openmpi() {
  if ! command -v mpicc >/dev/null || ! command -v mpirun >/dev/null; then
    echo "installing Open MPI (apt-get install openmpi-bin libopenmpi-dev)" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openmpi-bin libopenmpi-dev >/dev/null
  fi
}
