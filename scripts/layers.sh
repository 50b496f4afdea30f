#!/usr/bin/env bash
# scripts/layers.sh - `make lint-layers`: every #include of another part's header in src/
# must follow the table of docs/architecture.md ("Who may call whom"). A part's own
# headers and common.h are always allowed. Prints each violation as FILE: PART -> OTHER.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

# part: the parts it may include (besides itself and common)
declare -A may=(
	[common]=""
	[docker]=""
	[app]=""
	[runtime]="docker"
	[build]="docker app"
	[receiver]="app"
	[plugins]="app"
	[cluster]="docker"
	[deploy]="app build receiver runtime plugins docker cluster"
	[daemon]="deploy app plugins"
	[cli]="daemon deploy app build receiver runtime plugins docker cluster router"
	[router]=""
	[routerd]="cli router"
)

bad=0
for dir in src/*/; do
	part=$(basename "$dir")
	if [ -z "${may[$part]+set}" ]; then
		echo "$dir: a part the table of docs/architecture.md does not name (add it to scripts/layers.sh)"
		bad=1
		continue
	fi
	while IFS=: read -r file other; do
		[ "$other" = "$part" ] && continue
		case " ${may[$part]} " in
		*" $other "*) ;;
		*)
			echo "$file: $part -> $other"
			bad=1
			;;
		esac
	done < <(grep -Ho '^#include "[a-z]*/' "$dir"*.[ch] 2>/dev/null |
		sed 's|^\([^:]*\):#include "\([a-z]*\)/|\1:\2|' | sort -u)
done
exit "$bad"
