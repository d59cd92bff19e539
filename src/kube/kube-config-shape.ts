/**
 * What ssh-egress's public types say of an @kubernetes/client-node KubeConfig (1.x or 2.x): its shape,
 * not its class, so the declarations compile in a project without client-node. A real KubeConfig fits.
 */
export interface KubeConfigShape {
  getCurrentCluster(): { server: string } | null;
  applyToHTTPSOptions(opts: object): Promise<void>;
  applySecurityAuthentication(context: object): Promise<void>;
}
