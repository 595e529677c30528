# Sourced by the compare-openmpi*.sh scripts (from the repository's root).
# need_openmpi installs Open MPI with apt-get when mpicc or mpirun is
# missing.
need_openmpi() {
  if ! command -v mpicc >/dev/null || ! command -v mpirun >/dev/null; then
    echo "installing Open MPI (apt-get install openmpi-bin libopenmpi-dev)" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openmpi-bin libopenmpi-dev >/dev/null
  fi
}

# compare_mode MODE sets, for the transport MODE names:
#   OMPI_MCA      mpirun's transport arguments
#   GORUN_TR      the value of GORUN_TRANSPORT given to gorun's ranks
#   MODE_DESC     the words the tables' headers use
# MODE is one of
#   tcp    Open MPI over TCP (--mca pml ob1 --mca btl tcp,self), gorun over TCP
#   shm    Open MPI's default on one host (no --mca: shared memory),
#          gorun over shared memory
#   vader  Open MPI's shared-memory BTL named explicitly
#          (--mca pml ob1 --mca btl self,vader), gorun over shared memory
# Anything else is a usage error (exit 2).
compare_mode() {
  case "$1" in
    tcp)
      OMPI_MCA=(--mca pml ob1 --mca btl tcp,self); GORUN_TR=tcp
      MODE_DESC="TCP: Open MPI --mca pml ob1 --mca btl tcp,self, gorun GORUN_TRANSPORT=tcp" ;;
    shm)
      OMPI_MCA=(); GORUN_TR=shm
      MODE_DESC="shared memory: Open MPI's default (no --mca), gorun GORUN_TRANSPORT=shm" ;;
    vader)
      OMPI_MCA=(--mca pml ob1 --mca btl self,vader); GORUN_TR=shm
      MODE_DESC="shared memory: Open MPI --mca pml ob1 --mca btl self,vader, gorun GORUN_TRANSPORT=shm" ;;
    *)
      echo "mode $1: want tcp, shm or vader" >&2; exit 2 ;;
  esac
  # A tree whose comm does not link peers by shared memory runs shm and
  # vader over TCP: say so in the headers rather than compare the wrong thing.
  if [ "$GORUN_TR" = shm ] && ! grep -qs 'comm/internal/shm"' comm/*.go; then
    MODE_DESC="$MODE_DESC (this tree's comm has no shared-memory link: gorun runs over TCP)"
  fi
}

# load prints the load averages (the machine may be shared; every table
# says how loaded it was).
load() { cut -d' ' -f1-3 /proc/loadavg; }
