using System.Net;
using Microsoft.AspNetCore.Http.Features;

namespace Coalesce.AspNetCore;

/// <summary>The connection, with reads of the client's address and port recorded.</summary>
internal sealed class RecordingConnectionFeature(IHttpConnectionFeature inner, RequestInputs inputs) : IHttpConnectionFeature
{
    public string ConnectionId { get => inner.ConnectionId; set => inner.ConnectionId = value; }

    public IPAddress? RemoteIpAddress
    {
        get
        {
            inputs.Read(RequestInput.RemoteAddress);
            return inner.RemoteIpAddress;
        }
        set => inner.RemoteIpAddress = value;
    }

    public IPAddress? LocalIpAddress { get => inner.LocalIpAddress; set => inner.LocalIpAddress = value; }

    public int RemotePort
    {
        get
        {
            inputs.Read(RequestInput.RemotePort);
            return inner.RemotePort;
        }
        set => inner.RemotePort = value;
    }

    public int LocalPort { get => inner.LocalPort; set => inner.LocalPort = value; }
}
