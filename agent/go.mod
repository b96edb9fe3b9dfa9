module cubby/agent

go 1.22
