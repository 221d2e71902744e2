# Sourced by start-redis.sh and start-sentinel.sh (after they define fail): reading secrets.
sha256() { printf '%s' "$1" | sha256sum | cut -d ' ' -f 1; }
# secret VARIABLE FILE: the file's content; line ends at the end (CRLF, blank lines) belong to
# the file, not to the secret (as in the app).
secret() {
  [ -r "$2" ] || fail "$1 cannot be read ($2)"
  value=$(sed 's/\r$//' "$2")
  [ -n "$value" ] || fail "$1 is empty ($2)"
  printf '%s' "$value"
}
