using System.Globalization;
using System.Net;
using Garnet;
using Garnet.server;

// Usage: GarnetHost <port>. Serves on 127.0.0.1:<port> with Lua on (Garnet leaves it off by default) and a small
// memory budget, prints "ready" once listening, and stops when its standard input closes or it is killed.
var port = int.Parse(args[0], CultureInfo.InvariantCulture);
var options = new GarnetServerOptions
{
    EndPoints = [new IPEndPoint(IPAddress.Loopback, port)],
    EnableLua = true,
    LuaOptions = new LuaOptions(logger: null),
    LogMemorySize = "64m",
    IndexMemorySize = "1m",
    QuietMode = true,
};
using var server = new GarnetServer(options, loggerFactory: null, servers: null, cleanupDir: true);
server.Start();
Console.WriteLine("ready");
await Console.In.ReadToEndAsync();
