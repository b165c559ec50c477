using System;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Threading.Tasks;
using OpenBsdBuild.Emulation.Imds;
using Xunit;

namespace OpenBsdBuild.Tests.Cloud
{
    /// <summary>
    /// The IMDSv2 emulator the EC2 agent is tested against, held to what the EC2 user guide says the
    /// service does (docs/compatibility.md, "IMDSv2 emulator"), over real HTTP: an emulator that let a
    /// tokenless GET through would make the agent's test prove nothing.
    /// </summary>
    public sealed class ImdsEmulatorTests : IAsyncLifetime
    {
        private readonly ImdsEmulator _imds = ImdsEmulator.Start(new ImdsInstance
        {
            InstanceId = "i-0abc1234def567890",
            PublicKey = ("obb-ephemeral", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl obb"),
        });
        private readonly HttpClient _http = new();

        public Task InitializeAsync()
        {
            _http.BaseAddress = _imds.BaseUri;
            return Task.CompletedTask;
        }

        public async Task DisposeAsync()
        {
            _http.Dispose();
            await _imds.DisposeAsync();
        }

        private async Task<HttpResponseMessage> PutToken(string? ttl, string path = "latest/api/token", string? forwardedFor = null)
        {
            var put = new HttpRequestMessage(HttpMethod.Put, path);
            if (ttl != null) put.Headers.Add(ImdsEmulator.TtlHeader, ttl);
            if (forwardedFor != null) put.Headers.Add("X-Forwarded-For", forwardedFor);
            return await _http.SendAsync(put);
        }

        private async Task<string> Token(int ttl = 21600)
        {
            var r = await PutToken(ttl.ToString());
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            return await r.Content.ReadAsStringAsync();
        }

        private async Task<HttpResponseMessage> Get(string path, string? token)
        {
            var get = new HttpRequestMessage(HttpMethod.Get, path);
            if (token != null) get.Headers.Add(ImdsEmulator.TokenHeader, token);
            return await _http.SendAsync(get);
        }

        [Fact]
        public async Task A_get_without_a_token_is_refused_and_one_with_a_token_is_answered()
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await Get("latest/meta-data/instance-id", null)).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await Get("latest/meta-data/instance-id", "made-up")).StatusCode);

            string token = await Token();
            var id = await Get("latest/meta-data/instance-id", token);
            Assert.Equal(HttpStatusCode.OK, id.StatusCode);
            Assert.Equal("text/plain", id.Content.Headers.ContentType?.MediaType);
            Assert.Equal("i-0abc1234def567890", await id.Content.ReadAsStringAsync());
            Assert.Equal("0=obb-ephemeral", await (await Get("latest/meta-data/public-keys/", token)).Content.ReadAsStringAsync());
            Assert.StartsWith("ssh-ed25519 AAAAC3", await (await Get("latest/meta-data/public-keys/0/openssh-key", token)).Content.ReadAsStringAsync());
            Assert.Contains("local-hostname", await (await Get("latest/meta-data/", token)).Content.ReadAsStringAsync());
            // No user data given at launch: 404, as for any resource that is not there.
            Assert.Equal(HttpStatusCode.NotFound, (await Get("latest/user-data", token)).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await Get("latest/meta-data/no-such-thing", token)).StatusCode);
            _imds.Instance.UserData = Encoding.UTF8.GetBytes("#!/bin/sh\necho hi\n");
            Assert.Equal("#!/bin/sh\necho hi\n", await (await Get("latest/user-data", token)).Content.ReadAsStringAsync());

            // HttpTokens=optional: IMDSv1 works again, but a bad token is still refused.
            _imds.Instance.HttpTokens = "optional";
            Assert.Equal(HttpStatusCode.OK, (await Get("latest/meta-data/instance-id", null)).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await Get("latest/meta-data/instance-id", "made-up")).StatusCode);
            Assert.Contains(_imds.Requests, r => r.Method == "GET" && !r.HadToken && r.Status == 401);
        }

        [Fact]
        public async Task The_token_put_needs_a_ttl_of_one_second_to_six_hours_and_expires_after_it()
        {
            Assert.Equal(HttpStatusCode.BadRequest, (await PutToken(null)).StatusCode);
            Assert.Equal(HttpStatusCode.BadRequest, (await PutToken("0")).StatusCode);
            Assert.Equal(HttpStatusCode.BadRequest, (await PutToken("21601")).StatusCode);
            Assert.Equal(HttpStatusCode.BadRequest, (await PutToken("soon")).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await PutToken("60", "2021-03-23/api/token")).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await PutToken("60", forwardedFor: "203.0.113.9")).StatusCode);

            var ok = await PutToken("60");
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            Assert.Equal("60", ok.Headers.GetValues(ImdsEmulator.TtlHeader).Single());
            string token = await ok.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.OK, (await Get("latest/meta-data/instance-id", token)).StatusCode);
            var start = DateTime.UtcNow;
            _imds.UtcNow = () => start.AddSeconds(61);
            Assert.Equal(HttpStatusCode.Unauthorized, (await Get("latest/meta-data/instance-id", token)).StatusCode);
            // A new session works again.
            Assert.Equal(HttpStatusCode.OK, (await Get("latest/meta-data/instance-id", await Token())).StatusCode);
        }

        [Fact]
        public async Task The_token_response_leaves_with_the_hop_limit_as_its_ip_ttl()
        {
            string token = await Token();
            await Get("latest/meta-data/instance-id", token);
            var requests = _imds.Requests;
            Assert.Equal(1, requests.Single(r => r.Method == "PUT").ResponseTtl);
            Assert.True(requests.Single(r => r.Method == "GET").ResponseTtl > 1);
            _imds.Instance.HttpPutResponseHopLimit = 2;
            await Token();
            Assert.Equal(2, _imds.Requests.Last().ResponseTtl);
        }

        [Fact]
        public async Task A_disabled_endpoint_refuses_everything()
        {
            _imds.Instance.HttpEndpointEnabled = false;
            Assert.Equal(HttpStatusCode.Forbidden, (await PutToken("60")).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await Get("latest/meta-data/instance-id", null)).StatusCode);
        }
    }
}
