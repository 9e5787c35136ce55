package devenv

// ConsoleURL is the Console of the environment's REST API: APIURL + "/console/".
func (e *Env) ConsoleURL() string { return e.APIURL + "/console/" }
