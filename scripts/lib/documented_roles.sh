# The PostgreSQL roles and Redis ACL users of docs/security.md, created from the document's
# own blocks, so that tests run with exactly the rights the documentation recommends.
# Source after scripts/lib/servers.sh, from the repository's root.

# pgcqrs_documented_sql PATTERN PASSWORD: runs, with psql (PG* variables), every ```sql block
# of docs/security.md that contains PATTERN, its '...' password replaced by PASSWORD.
pgcqrs_documented_sql() {
  local blocks
  blocks=$(awk -v pat="$1" '
    /^```sql$/ { block = 1; text = ""; next }
    /^```/ && block { if (index(text, pat)) printf "%s", text; block = 0; next }
    block { text = text $0 "\n" }' docs/security.md)
  [ -n "$blocks" ] || { echo "docs/security.md has no sql block with $1" >&2; return 1; }
  psql -qAt -v ON_ERROR_STOP=1 >/dev/null <<<"${blocks//\'...\'/\'$2\'}"
}

# pgcqrs_documented_acl USER PASSWORD REDIS-CLI-COMMAND...: runs the ACL SETUSER line of
# docs/security.md for USER (its >PASSWORD replaced) through the given redis-cli command.
pgcqrs_documented_acl() {
  local user=$1 password=$2 line words out
  shift 2
  line=$(awk -v user="$user" '/^```redis$/ { block = 1; next } /^```/ { block = 0 }
                               block && $1 == "ACL" && $2 == "SETUSER" && $3 == user' docs/security.md)
  [ "$(grep -c . <<<"$line")" = 1 ] || { echo "docs/security.md gives no single ACL SETUSER $user line" >&2; return 1; }
  [ -z "$password" ] || [[ $line == *" >PASSWORD "* ]] || { echo "the ACL of $user has no >PASSWORD" >&2; return 1; }
  read -r -a words <<<"${line//>PASSWORD/>$password}"
  out=$("$@" "${words[@]}" 2>&1)
  [ "$out" = OK ] || { echo "the documented ACL of $user: $out" >&2; return 1; }
}
