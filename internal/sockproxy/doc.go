// Package sockproxy is a test helper: a loopback TCP listener that
// forwards each connection to a unix socket (the Docker Engine's
// /var/run/docker.sock), and that a test can turn against its clients on
// demand — cut every current connection (with a FIN or a RST) and refuse
// new ones for a while — to check how a client survives an engine
// connection that breaks mid-stream.
//
//	p, err := sockproxy.New("/var/run/docker.sock")
//	...
//	cfg := container.Config{Host: p.Host()} // tcp://127.0.0.1:PORT, no TLS
//	p.Cut()      // every open connection ends (FIN)
//	p.Refuse()   // new connections: ECONNREFUSED (the listener is closed)
//	p.Reset()    // every open connection ends (RST)
//	p.Accept()   // listen again on the same port
//	p.Close()
package sockproxy
