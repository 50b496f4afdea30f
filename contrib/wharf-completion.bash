# contrib/wharf-completion.bash - bash completion for wharf: command names (from
# `wharf help --commands`, so it follows the installed version) and app names.
# Install: copy to /etc/bash_completion.d/wharf, or `. contrib/wharf-completion.bash`.

_wharf() {
	local cur=${COMP_WORDS[COMP_CWORD]} i=1 cmd
	COMPREPLY=()
	# Global flags come before the command; --app takes a value.
	while [ "$i" -lt "$COMP_CWORD" ]; do
		case ${COMP_WORDS[i]} in
		--app) i=$((i + 2)) ;;
		-*) i=$((i + 1)) ;;
		*) break ;;
		esac
	done
	if [ "$i" -ge "$COMP_CWORD" ]; then
		if [ "${COMP_WORDS[COMP_CWORD - 1]}" = --app ]; then
			mapfile -t COMPREPLY < <(compgen -W "$(wharf --quiet apps:list 2>/dev/null)" -- "$cur")
		elif [[ $cur == -* ]]; then
			mapfile -t COMPREPLY < <(compgen -W "--app --quiet --force --trace --help --version" -- "$cur")
		else
			mapfile -t COMPREPLY < <(compgen -W "$(wharf help --commands 2>/dev/null)" -- "$cur")
		fi
		return 0
	fi
	cmd=${COMP_WORDS[i]}
	# The first argument of most commands is an app.
	if [ $((COMP_CWORD - i)) -eq 1 ] && [[ $cur != -* ]]; then
		case $cmd in
		help | version | router | apps:create | apps:list | ssh-keys:* | stack:* | *-global | ps:restore) ;;
		*) mapfile -t COMPREPLY < <(compgen -W "$(wharf --quiet apps:list 2>/dev/null)" -- "$cur") ;;
		esac
	fi
	return 0
}
complete -F _wharf wharf
