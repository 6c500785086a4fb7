// Package jobfile reads job network definitions from YAML or JSON, checks
// them completely before anything runs, and builds a [job.Network] whose
// units run in Docker containers (job/docker).
//
// # Schema
//
//	name: nightly              # required
//	concurrency: 2             # units at once; 0 or absent = unlimited
//	output_limit: 1048576      # bytes of output kept in memory per unit (default 1 MiB)
//	queue: batch               # the scheduler queue its units wait in (default "default");
//	                           # letters, digits, '.', '_' and '-'
//	schedule:                  # when `minato agent` runs it (absent: only when submitted);
//	                           # a cron alone can be the whole schedule: schedule: "0 2 * * *"
//	  cron: "0 2 * * *"        # required: 5 fields (6 with seconds first), @daily, "@every 10m",
//	                           # optionally after "TZ=Asia/Tokyo "
//	  timezone: Asia/Tokyo     # IANA zone (default: the agent's local zone); must not
//	                           # differ from a TZ= prefix
//	  calendar: business       # the name of a calendar of the agent's configuration, or inline:
//	  # calendar: {weekdays: [mon, tue, wed, thu, fri],   # default Monday to Friday
//	  #            holidays: [2026-01-01], workdays: [2026-01-10]}
//	  shift: next              # skip (default) | next | previous: what happens to a due time
//	                           # on a non-business day; only with a calendar
//	  overlap: skip            # skip (default) | queue | replace | allow: a run due while an
//	                           # earlier one has not finished
//	  catch_up: 2h             # how far back a due time missed while the agent was down is
//	                           # still run (default 0: none)
//	units:
//	  - name: extract          # required, unique; no spaces or slashes
//	    run:                   # run in a new container (removed afterwards)
//	      image: "app:1"       # required; never pulled
//	      command: [extract, --day, today]
//	      entrypoint: [/bin/app]
//	      env: {A: "1"}
//	      workdir: /work
//	      user: "1000"
//	      mounts: ["/srv/data:/data:ro"]
//	      network: backend
//	      memory: 268435456    # bytes, at least 6 MiB (default: no limit)
//	      cpus: 1.5            # default: no limit
//	      labels: {team: data}
//	      stop_signal: SIGINT
//	      stop_grace: 10s
//	      keep: false
//	    timeout: 30s           # per attempt (default 0: none)
//	  - name: transform
//	    exec:                  # run in a running container
//	      container: worker    # exact name or ID
//	      command: [transform]
//	      env: {B: "2"}
//	      user: app
//	      workdir: /srv
//	    needs: [extract]
//	    retry: {limit: 2, delay: 1s, backoff: 2, max_delay: 30s,   # see job.RetryPolicy
//	            on_exit: {"3": fail, "75": retry}, default: retry, retry_errors: false}
//	  - name: report-failure
//	    needs: [transform]
//	    when: failure          # success (default) | failure | always | {codes: [0, 3]}
//	                           # (the mapping is job.When: {on: failure} works too)
//	    host:                  # a program on minato's own host (no shell)
//	      command: [/usr/local/bin/notify, nightly]
//	      dir: /tmp
//	      env: {C: "3"}
//	  - name: restart-web
//	    container:             # the Hinemos Docker job scripts' container operations
//	      action: restart      # start | stop | restart | remove
//	      names: ["web*"]      # or ids: [...]
//	      grace: 10s           # stop and restart
//	      force: false         # remove
//
// Each unit has exactly one of run, exec, host and container. Unknown keys,
// wrong types and bad values are errors that name the key path
// ("units[1].retry.delay") and say what is allowed; [Parse] reports every
// problem at once (up to 100). Absent keys, empty strings and zero numbers
// and durations mean the defaults.
//
// Files are decoded by the strict decoder the agent's configuration uses,
// into the json-tagged types of this package (with [job.When] and
// [job.RetryPolicy]), whose Validate methods check them. It refuses
// hostile files quickly: larger than 4 MiB, or whose YAML aliases expand
// to more than 100000 values.
//
// In a schedule's inline calendar, weekdays are English names or their
// 3-letter abbreviations in any case, or 0-7 as in cron (0 and 7 are
// Sunday), and dates are YYYY-MM-DD; the calendar is named "inline" in
// messages. [ScheduleDef.Schedule] builds the [schedule.Schedule], looking named
// calendars up in the agent's.
//
// Built with BuildOptions.Adoptable (as the scheduler builds them), run
// units keep their containers until the scheduler recorded their result,
// and a restarted scheduler adopts the ones still running (see
// [jobdocker.AdoptableRun]).
package jobfile
