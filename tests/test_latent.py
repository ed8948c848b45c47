import torch

from textvae.latent import DiagonalGaussian, free_bits_kl, standard_normal_log_prob


def test_kl_is_non_negative_and_zero_at_the_prior():
    torch.manual_seed(0)
    q = DiagonalGaussian(torch.randn(16, 4), torch.randn(16, 4))
    assert (q.kl_per_dim() >= 0).all()
    prior = DiagonalGaussian(torch.zeros(3, 4), torch.zeros(3, 4))
    assert torch.equal(prior.kl(), torch.zeros(3))


def test_kl_matches_monte_carlo_estimate():
    torch.manual_seed(0)
    q = DiagonalGaussian(torch.tensor([[0.5, -1.0]]), torch.tensor([[-0.5, 0.3]]))
    z = q.rsample(200_000)
    mc = (q.log_prob(z) - standard_normal_log_prob(z)).mean()
    assert abs(mc.item() - q.kl().item()) < 0.02


def test_gradients_reach_mu_and_sigma_through_the_sample():
    mu = torch.zeros(2, 3, requires_grad=True)
    logvar = torch.zeros(2, 3, requires_grad=True)
    z = DiagonalGaussian(mu, logvar).rsample()
    (z ** 2).sum().backward()
    assert mu.grad is not None and mu.grad.abs().sum() > 0
    assert logvar.grad is not None and logvar.grad.abs().sum() > 0


def test_free_bits_floor_applies_per_dimension():
    kl = torch.tensor([[0.1, 2.0], [0.3, 4.0]])  # mean per dim: 0.2, 3.0
    assert free_bits_kl(kl, 0.0).item() == torch.tensor(3.2).item()
    assert abs(free_bits_kl(kl, 0.5).item() - 3.5) < 1e-6  # first dim lifted to the floor
    kl.requires_grad_(True)
    free_bits_kl(kl, 0.5).backward()
    assert kl.grad[:, 0].abs().sum() == 0  # below the floor: no push towards the prior
    assert kl.grad[:, 1].abs().sum() > 0
