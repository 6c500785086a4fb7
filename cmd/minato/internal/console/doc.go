// Package console is the operator console minato agent serves at "/": a
// server-rendered page (html/template, embedded CSS and a small
// dependency-free script, no CDN, no build step) showing the estate, the
// checks and events timeline, the job networks drawn as graphs with their
// controls, HA, images, applications and diagnostics.
//
// The page reads only the agent's public API, in-process and with the
// caller's own credentials ([New] takes the API handler and its guard),
// and each view has a JSON twin at /api/v1/console/{view}. Controls (hold,
// release, skip, stop, cancel, rerun, queue stop and start, HA move) post
// to the existing job and HA endpoints with the token the operator types
// into the page, kept in sessionStorage and sent as the Authorization
// header, never in a URL or a cookie, so a forged cross-site request
// carries nothing. ?lang=ja shows the Japanese terms of Hinemos, JobCenter
// and CLUSTERPRO. With [WithChanges], open estate and checks pages wait
// for the agent's next change instead of re-reading the API every second,
// and a rendered view is reused while nothing changed. See docs/console.md.
package console
