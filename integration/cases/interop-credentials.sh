# Where credentials come from, in the order README's Credentials paragraph gives, against the
# real registry with Basic auth: every source below the one that must win holds a wrong password,
# so a pull succeeds only when the right source was used (and fails, 401, when a wrong one wins).
# Sources: -u, SIFTER_*, APPTAINER_DOCKER_* / SINGULARITY_DOCKER_*, --authfile (alone),
# REGISTRY_AUTH_FILE, ~/.apptainer/docker-config.json (`apptainer registry login`), ~/.docker/config.json.
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
start_registry basic
unset DOCKER_CONFIG REGISTRY_AUTH_FILE XDG_RUNTIME_DIR XDG_CONFIG_HOME SIFTER_USERNAME SIFTER_PASSWORD \
  APPTAINER_DOCKER_USERNAME APPTAINER_DOCKER_PASSWORD SINGULARITY_DOCKER_USERNAME SINGULARITY_DOCKER_PASSWORD \
  APPTAINER_CONFIGDIR SINGULARITY_CONFIGDIR DOCKER_USERNAME DOCKER_PASSWORD
export HOME=$CASE_WORK/home
mkdir -p "$HOME/.docker" "$HOME/.apptainer"

"$SIFTER" sif new app.sif --time 1700000000 >/dev/null
head -c 100000 /dev/urandom >part.bin
"$SIFTER" sif add app.sif part.bin --type partition --part primSys --arch amd64 --time 1700000000 >/dev/null
printf '%s' "$REGISTRY_PASSWORD" | "$SIFTER" push --plain-http -u "$REGISTRY_USER" --password-stdin app.sif "oras://$REGISTRY/test/creds:v1" >/dev/null

auth_file() {  # FILE HOST PASSWORD: a docker config.json for HOST with the test user
  python3 -c 'import base64,json,sys; json.dump({"auths": {sys.argv[2]: {"auth": base64.b64encode((sys.argv[3] + ":" + sys.argv[4]).encode()).decode()}}}, open(sys.argv[1], "w"))' \
    "$1" "$2" "$REGISTRY_USER" "$3"
}
n=0
pull() {  # EXPECTED-STATUS WHAT [env assignments…] -- [sifter flags…]
  local expected=$1 what=$2 status=0 env=()
  shift 2
  while [ "$1" != -- ]; do env+=("$1"); shift; done
  shift
  n=$((n + 1))
  env "${env[@]}" "$SIFTER" pull --plain-http "$@" "oras://$REGISTRY/test/creds:v1" "out-$n.sif" >"pull-$n.out" 2>"pull-$n.err" </dev/null || status=$?
  [ "$status" = "$expected" ] || fail "$what: exit $status, expected $expected: $(cat "pull-$n.err")"
  if [ "$expected" = 0 ]; then cmp -s "out-$n.sif" app.sif || fail "$what: the pulled SIF differs"; fi
  grep -qF "$REGISTRY_PASSWORD" "pull-$n.out" "pull-$n.err" && fail "$what: the password appears in the output"
  return 0
}
rejected="authentication required or credentials rejected"

# Files, lowest first. docker's alone works.
auth_file "$HOME/.docker/config.json" "$REGISTRY" "$REGISTRY_PASSWORD"
pull 0 "docker's config.json" --
pull 69 "no credentials" HOME=/nonexistent --
grep -q "$rejected" "pull-$n.err" || fail "unclear error: $(cat "pull-$n.err")"
# Apptainer's docker-config.json comes before docker's: a wrong password there wins and fails.
auth_file "$HOME/.apptainer/docker-config.json" "$REGISTRY" wrong-apptainer-file
pull 69 "apptainer's file before docker's" --
# …and a right one works over a wrong docker file; APPTAINER_CONFIGDIR moves it, as in Apptainer.
auth_file "$HOME/.docker/config.json" "$REGISTRY" wrong-docker-file
auth_file "$HOME/.apptainer/docker-config.json" "$REGISTRY" "$REGISTRY_PASSWORD"
pull 0 "apptainer's docker-config.json" --
mkdir -p elsewhere && mv "$HOME/.apptainer/docker-config.json" elsewhere/
pull 69 "apptainer's file moved away" --
pull 0 "APPTAINER_CONFIGDIR" "APPTAINER_CONFIGDIR=$CASE_WORK/elsewhere" --
# Apptainer's file holding only another registry: docker's is still read (Apptainer would not).
auth_file "$HOME/.apptainer/docker-config.json" other.example "$REGISTRY_PASSWORD"
auth_file "$HOME/.docker/config.json" "$REGISTRY" "$REGISTRY_PASSWORD"
pull 0 "docker's file after apptainer's for another host" --
auth_file "$HOME/.apptainer/docker-config.json" "$REGISTRY" wrong-apptainer-file

# REGISTRY_AUTH_FILE comes before both.
auth_file right.json "$REGISTRY" "$REGISTRY_PASSWORD"
auth_file wrong.json "$REGISTRY" wrong-registry-auth-file
auth_file other.json other.example "$REGISTRY_PASSWORD"
pull 0 "REGISTRY_AUTH_FILE" "REGISTRY_AUTH_FILE=$CASE_WORK/right.json" --
pull 69 "a wrong REGISTRY_AUTH_FILE wins" "REGISTRY_AUTH_FILE=$CASE_WORK/wrong.json" --

# --authfile: that file alone (a right docker file is not read besides it), and it must exist.
auth_file "$HOME/.docker/config.json" "$REGISTRY" "$REGISTRY_PASSWORD"
rm "$HOME/.apptainer/docker-config.json"
pull 0 "--authfile" "REGISTRY_AUTH_FILE=$CASE_WORK/wrong.json" -- --authfile right.json
pull 69 "--authfile is read alone" -- --authfile other.json
pull 74 "a missing --authfile" -- --authfile missing.json
grep -q "credentials from missing.json: the auth file does not exist" "pull-$n.err" || fail "unclear error: $(cat "pull-$n.err")"

# Environment variables come before every file; Apptainer's spelling before Singularity's.
auth_file "$HOME/.docker/config.json" "$REGISTRY" wrong-docker-file
pull 0 "APPTAINER_DOCKER_*" "APPTAINER_DOCKER_USERNAME=$REGISTRY_USER" "APPTAINER_DOCKER_PASSWORD=$REGISTRY_PASSWORD" -- --authfile wrong.json
pull 0 "SINGULARITY_DOCKER_*" "SINGULARITY_DOCKER_USERNAME=$REGISTRY_USER" "SINGULARITY_DOCKER_PASSWORD=$REGISTRY_PASSWORD" --
pull 69 "APPTAINER_DOCKER_* before SINGULARITY_DOCKER_*" "APPTAINER_DOCKER_USERNAME=$REGISTRY_USER" APPTAINER_DOCKER_PASSWORD=wrong \
  "SINGULARITY_DOCKER_USERNAME=$REGISTRY_USER" "SINGULARITY_DOCKER_PASSWORD=$REGISTRY_PASSWORD" --
pull 74 "half a pair" "APPTAINER_DOCKER_USERNAME=$REGISTRY_USER" --
grep -q "APPTAINER_DOCKER_USERNAME is set but neither APPTAINER_DOCKER_PASSWORD nor SINGULARITY_DOCKER_PASSWORD is" "pull-$n.err" ||
  fail "unclear error: $(cat "pull-$n.err")"
# Apptainer's unprefixed DOCKER_USERNAME/DOCKER_PASSWORD are not read (CI sets them for Docker Hub).
pull 69 "DOCKER_USERNAME is not read" "DOCKER_USERNAME=$REGISTRY_USER" "DOCKER_PASSWORD=$REGISTRY_PASSWORD" --
# SIFTER_* before APPTAINER_*, and -u before SIFTER_USERNAME.
pull 0 "SIFTER_* before APPTAINER_DOCKER_*" "SIFTER_USERNAME=$REGISTRY_USER" "SIFTER_PASSWORD=$REGISTRY_PASSWORD" \
  "APPTAINER_DOCKER_USERNAME=$REGISTRY_USER" APPTAINER_DOCKER_PASSWORD=wrong --
pull 0 "-u before SIFTER_*" "SIFTER_PASSWORD=$REGISTRY_PASSWORD" SIFTER_USERNAME=wrong-user -- -u "$REGISTRY_USER"
echo "credentials: -u, SIFTER_*, APPTAINER_DOCKER_*/SINGULARITY_DOCKER_*, --authfile alone, REGISTRY_AUTH_FILE, apptainer's then docker's file"
